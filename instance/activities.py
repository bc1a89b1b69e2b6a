"""Small readers over ActivityStreams JSON shared by the inbound and outbound sides."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "PUBLIC",
    "addressees",
    "drop_empty",
    "first_type",
    "id_of",
    "is_public",
    "object_of",
    "without_blind_copies",
]

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_FORMS = frozenset({PUBLIC, "as:Public", "Public"})
ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")
#: Private addressing: used to deliver, never shown to anyone (ActivityPub 6).
BLIND_FIELDS = ("bto", "bcc")


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


def without_blind_copies(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` without ``bto`` and ``bcc``, on itself and on its embedded object:
    what every recipient, local or remote, gets (ActivityPub 6: MUST)."""
    cleaned = {key: value for key, value in document.items() if key not in BLIND_FIELDS}
    inner = cleaned.get("object")
    if isinstance(inner, Mapping):
        cleaned["object"] = {k: v for k, v in inner.items() if k not in BLIND_FIELDS}
    return cleaned


def drop_empty(value: Any) -> Any:
    """``value`` with every empty array left out, at any depth (ActivityStreams 2.0 2:
    an empty array is written as the property's absence). Contexts are left alone."""
    if isinstance(value, Mapping):
        return {
            key: item if key == "@context" else drop_empty(item)
            for key, item in value.items()
            if not (isinstance(item, list) and not item)
        }
    if isinstance(value, list):
        return [drop_empty(item) for item in value]
    return value
