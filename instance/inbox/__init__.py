"""Activities coming in: the inbox's checks before it answers 202 (:mod:`.receive`), the
group-committed storage of what was accepted (:mod:`.store`), and the background step that
reads each stored activity (:mod:`.reading`) and hands it to the handler registered for
its type (:mod:`.processing`; the handlers themselves live in :mod:`instance.handlers`).
"""
