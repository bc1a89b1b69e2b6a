"""The one exception tree of the vocab package.

Every error raised by ``vocab`` is a :class:`VocabError`; foreign errors (pyld's
``JsonLdError``, ``decimal`` signals, ``json`` and ``datetime`` parse errors) are
translated where they occur and never leak to callers::

    VocabError                   field, reason
    ├── JsonError                bad or unbounded JSON text (duplicate keys, NaN, depth…)
    ├── ContextError             poisoned, remote, unknown or unsupported JSON-LD context
    │   └── AliasError           an inline context renames a keyword or an AS/VF term
    ├── LimitError               more JSON-LD work than one document may ask for
    ├── UnitError                unknown unit of measure
    │   └── UnitMismatch         two measures of different units added or compared
    ├── QuantityError            a number that is not an exact, bounded decimal
    ├── ActionError              unknown ValueFlows action
    └── InvalidObject            missing or invalid property, or a broken rule

``field`` names where the problem is: a JSON pointer (``/object/resourceQuantity``)
when the position in a document is known, else a property name. ``reason`` says what
is wrong in words meant for a person; ``str(error)`` is one readable sentence.
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "AliasError",
    "ContextError",
    "InvalidObject",
    "JsonError",
    "LimitError",
    "QuantityError",
    "UnitError",
    "UnitMismatch",
    "VocabError",
]


class VocabError(ValueError):
    """Base of every error raised by the vocab package."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        if not self.field:
            return _sentence(self.reason)
        return _sentence(f"{self.field}: {self.reason}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(field={self.field!r}, reason={self.reason!r})"

    def at(self, prefix: str) -> VocabError:
        """Return the same error with ``prefix`` put in front of its JSON pointer."""
        if not prefix:
            return self
        field = self.field
        if field and not field.startswith("/"):
            field = "/" + field
        clone = type(self).__new__(type(self))
        VocabError.__init__(clone, prefix + field, self.reason)
        clone.__dict__.update({k: v for k, v in self.__dict__.items() if k not in _OWN})
        return clone


_OWN = frozenset({"field", "reason"})


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


class JsonError(VocabError):
    """The JSON text is malformed, ambiguous (duplicate keys) or beyond the limits."""


class ContextError(VocabError):
    """A JSON-LD context is refused: poisoned, remote, unknown or unsupported."""


class AliasError(ContextError):
    """An inline context gives a JSON-LD keyword, or an ActivityStreams or ValueFlows
    term, a second name: a plain-JSON reader and a JSON-LD reader would then see
    different ids, actors or objects in one document."""


class LimitError(VocabError):
    """The document asks for more JSON-LD work than oce does for one document."""


class UnitError(VocabError):
    """A unit of measure is not an OM2 unit known to oce."""


class UnitMismatch(UnitError):
    """Two measures of different units were added, subtracted or compared."""


class QuantityError(VocabError):
    """A number is not an exact decimal within oce's bounds."""


class ActionError(VocabError):
    """An action is not one of the 19 ValueFlows actions."""


class InvalidObject(VocabError):
    """A property is missing or invalid, or an object breaks a ValueFlows rule."""
