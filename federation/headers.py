"""An immutable, case-insensitive view of HTTP header fields.

Signature code needs every occurrence of a field in order (RFC 9110 combines repeated
fields with ", "), never a framework's header object, so it reads this small value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

__all__ = ["HeaderInput", "Headers"]

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]


class Headers:
    """Header fields as (name, value) pairs; lookups ignore the case of names."""

    __slots__ = ("_pairs",)

    def __init__(self, fields: HeaderInput = ()) -> None:
        items: Iterable[tuple[str, str]]
        if isinstance(fields, Headers):
            items = fields._pairs
        elif isinstance(fields, Mapping):
            items = fields.items()
        else:
            items = fields
        self._pairs: tuple[tuple[str, str], ...] = tuple((str(n), str(v)) for n, v in items)

    def get_all(self, name: str) -> list[str]:
        """Every value of the field `name`, in the order received."""
        wanted = name.lower()
        return [value for key, value in self._pairs if key.lower() == wanted]

    def get(self, name: str) -> str | None:
        """The field's value, repeated fields combined with ", "; None when absent."""
        values = self.get_all(name)
        if not values:
            return None
        return ", ".join(value.strip() for value in values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._pairs == other._pairs

    def __hash__(self) -> int:
        return hash(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({list(self._pairs)!r})"
