"""Taking an agent's data elsewhere: export, import (and, in :mod:`instance.social.moves`,
the ActivityPub ``Move`` that brings its followers along)."""

from instance.portability.export import export_agent
from instance.portability.importer import import_agent, read_export

__all__ = ["export_agent", "import_agent", "read_export"]
