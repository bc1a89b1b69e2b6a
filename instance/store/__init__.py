"""The database: the engine and its read and write transactions (:mod:`.db`), the typed
tables (:mod:`.models`), the Alembic scripts that build them (``migrations/``, applied by
:mod:`.migrate`), and the leased work queues that processes share through it
(:mod:`.queue`). Nothing here knows about activities, ledgers or HTTP.
"""
