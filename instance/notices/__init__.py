"""Notifications: what a local agent is told about, and the in-process signal that
wakes the pages waiting for them.

:mod:`instance.notices.derive` records them as inbound activities are filed into the
agents' inboxes (:mod:`instance.inbox.processing`); :mod:`instance.notices.signal`
tells this process's live streams that an agent has news.
"""

from instance.notices.signal import Listener, Notifier, TooManyStreams

__all__ = ["Listener", "Notifier", "TooManyStreams"]
