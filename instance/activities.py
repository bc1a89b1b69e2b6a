"""Small readers over ActivityStreams JSON shared by the inbound and outbound sides."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["PUBLIC", "addressees", "first_type", "id_of", "is_public", "object_of"]

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_FORMS = frozenset({PUBLIC, "as:Public", "Public"})
ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")


def id_of(value: Any) -> str | None:
    """The id of a reference: the string itself, or an embedded object's ``id``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


def first_type(value: Any) -> str | None:
    """The (first) type of an object; None for bare references."""
    if not isinstance(value, Mapping):
        return None
    kind = value.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    return kind if isinstance(kind, str) else None


def object_of(activity: Mapping[str, Any]) -> Any:
    """The activity's object (a single one; the first of a list)."""
    found = activity.get("object")
    if isinstance(found, list):
        return found[0] if found else None
    return found


def addressees(document: Mapping[str, Any]) -> Iterator[str]:
    """Every id in to/cc/bto/bcc/audience, Public in its canonical form."""
    for field in ADDRESS_FIELDS:
        value = document.get(field)
        for item in value if isinstance(value, list) else [value]:
            found = id_of(item)
            if found is not None:
                yield PUBLIC if found in _PUBLIC_FORMS else found


def is_public(document: Mapping[str, Any]) -> bool:
    return any(address == PUBLIC for address in addressees(document))
