"""Where everything lives on this instance: the one place that builds our URLs.

Remote requests never write ids into our namespace (see DESIGN.md); :meth:`Urls.is_local`
is how handlers tell our ids from theirs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from federation.request import authority_of

__all__ = ["Urls"]


@lru_cache(maxsize=4096)
def _origin(uri: str) -> str:
    """``scheme://netloc`` of ``uri``, lower-cased (asked for every inbound activity,
    mostly for the same few actors: the answers are kept)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}".lower()


@lru_cache(maxsize=8)
def _authority(base: str) -> str:
    return authority_of(base)


@dataclass(frozen=True, slots=True)
class Urls:
    """URL builders for one instance, given its public origin."""

    base: str

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    @property
    def authority(self) -> str:
        """The Host value requests to this instance are signed for."""
        return _authority(self.base)

    @property
    def scheme(self) -> str:
        return self.base.split("://", 1)[0]

    def is_local(self, uri: str) -> bool:
        """True when ``uri`` is on this instance's origin."""
        return _origin(uri) == self.base

    def actor(self, username: str) -> str:
        return f"{self.base}/agents/{username}"

    def key(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def agent_collection(self, username: str, name: str) -> str:
        return f"{self.actor(username)}/{name}"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def instance_key(self) -> str:
        return f"{self.instance_actor}#main-key"

    def username_of(self, actor_uri: str) -> str | None:
        """The local username in an actor id of ours, or None."""
        prefix = f"{self.base}/agents/"
        if not actor_uri.startswith(prefix):
            return None
        rest = actor_uri.removeprefix(prefix)
        return rest if rest and "/" not in rest and "#" not in rest else None

    def new_activity(self) -> str:
        return f"{self.base}/activities/{uuid.uuid4()}"

    def new_object(self, kind: str = "objects") -> str:
        return f"{self.base}/{kind}/{uuid.uuid4()}"
