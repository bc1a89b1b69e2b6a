"""An immutable, case-insensitive view of HTTP header fields.

Signature code needs every occurrence of a field in order (RFC 9110 combines repeated
fields with ", "), never a framework's header object, so it reads this small value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

__all__ = ["HeaderInput", "Headers"]

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]


class Headers:
    """Header fields as (name, value) pairs; lookups ignore the case of names.

    The values of each name are indexed once, when the value is made: an inbox request
    asks for a dozen fields while its signature is checked.
    """

    __slots__ = ("_index", "_pairs")

    def __init__(self, fields: HeaderInput = ()) -> None:
        items: Iterable[tuple[str, str]]
        if isinstance(fields, Headers):
            self._pairs: tuple[tuple[str, str], ...] = fields._pairs
            self._index: dict[str, list[str]] = fields._index
            return
        items = fields.items() if isinstance(fields, Mapping) else fields
        self._pairs = tuple((str(n), str(v)) for n, v in items)
        self._index = _index(self._pairs)

    @classmethod
    def from_raw(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """From an ASGI scope's header list (bytes, Latin-1), decoded once."""
        headers = cls.__new__(cls)
        headers._pairs = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
        headers._index = _index(headers._pairs)
        return headers

    def get_all(self, name: str) -> list[str]:
        """Every value of the field `name`, in the order received."""
        return list(self._index.get(name.lower(), ()))

    def get(self, name: str) -> str | None:
        """The field's value, repeated fields combined with ", "; None when absent."""
        values = self._index.get(name.lower())
        if not values:
            return None
        if len(values) == 1:
            return values[0].strip()
        return ", ".join(value.strip() for value in values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

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


def _index(pairs: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name, value in pairs:
        index.setdefault(name.lower(), []).append(value)
    return index
