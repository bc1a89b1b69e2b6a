"""The small arithmetic language of value-equation rules, parsed safely (never ``eval``).

A rule's rate says what one contribution is worth, for instance ``hours * 20`` or
``quantity * 1.5 + 10``. The grammar is tiny and bounded::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := NUMBER | NAME | "(" expr ")" | "-" factor

Numbers are decimal literals; names are the variables a contribution provides
(:data:`VARIABLES`). Values are exact fractions, so ``hours / 3 * 3`` is ``hours``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "VARIABLES", "Expression", "RateError", "parse_rate"]

#: What a rule's rate may refer to: ``hours`` of work (effortQuantity), ``quantity`` of a
#: resource or payment (resourceQuantity).
VARIABLES = frozenset({"hours", "quantity"})
MAX_LENGTH = 200
MAX_DEPTH = 20
_MAX_DIGITS = 30
_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>[a-z]+)|(?P<op>[-+*/()]))")


class RateError(ValueError):
    """A rate that is not in the language, or cannot be evaluated; says why."""


@dataclass(frozen=True)
class Expression:
    """A parsed rate: evaluate it with :meth:`value`."""

    source: str
    _tree: tuple[object, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(_names(self._tree))

    def value(self, variables: Mapping[str, Decimal | Fraction]) -> Fraction:
        """The exact value with these variables; a :class:`RateError` on division by
        zero or a variable the contribution does not have."""
        return _evaluate(self._tree, variables)


def _names(tree: tuple[object, ...]) -> list[str]:
    kind = tree[0]
    if kind == "name":
        return [str(tree[1])]
    if kind == "num":
        return []
    return [name for child in tree[1:] if isinstance(child, tuple) for name in _names(child)]


def _evaluate(tree: tuple[object, ...], variables: Mapping[str, Decimal | Fraction]) -> Fraction:
    kind = tree[0]
    if kind == "num":
        value = tree[1]
        assert isinstance(value, Fraction)
        return value
    if kind == "name":
        name = str(tree[1])
        if name not in variables:
            raise RateError(f"{name} is not known for this contribution")
        return Fraction(variables[name])
    if kind == "neg":
        operand = tree[1]
        assert isinstance(operand, tuple)
        return -_evaluate(operand, variables)
    left, right = tree[1], tree[2]
    assert isinstance(left, tuple)
    assert isinstance(right, tuple)
    a, b = _evaluate(left, variables), _evaluate(right, variables)
    if kind == "+":
        return a + b
    if kind == "-":
        return a - b
    if kind == "*":
        return a * b
    if b == 0:
        raise RateError("division by zero")
    return a / b


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = source.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:
                raise RateError(f"unexpected {text[position:].lstrip()[:10]!r} at {position}")
            kind = match.lastgroup
            assert kind is not None
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise RateError("the rate ends too early")
        self.at += 1
        return token

    def expr(self, depth: int) -> tuple[object, ...]:
        if depth > MAX_DEPTH:
            raise RateError(f"more than {MAX_DEPTH} nested parentheses or signs")
        tree = self.term(depth)
        while (token := self.peek()) is not None and token[1] in ("+", "-"):
            self.take()
            tree = (token[1], tree, self.term(depth))
        return tree

    def term(self, depth: int) -> tuple[object, ...]:
        tree = self.factor(depth)
        while (token := self.peek()) is not None and token[1] in ("*", "/"):
            self.take()
            tree = (token[1], tree, self.factor(depth))
        return tree

    def factor(self, depth: int) -> tuple[object, ...]:
        kind, text = self.take()
        if kind == "number":
            if len(text) > _MAX_DIGITS:
                raise RateError(f"{text[:12]}… has more than {_MAX_DIGITS} digits")
            return ("num", Fraction(Decimal(text)))
        if kind == "name":
            if text not in VARIABLES:
                known = ", ".join(sorted(VARIABLES))
                raise RateError(f"{text!r} is not a variable of a rate (known: {known})")
            return ("name", text)
        if text == "(":
            tree = self.expr(depth + 1)
            if self.take()[1] != ")":
                raise RateError("a parenthesis is not closed")
            return tree
        if text == "-":
            if depth + 1 > MAX_DEPTH:
                raise RateError(f"more than {MAX_DEPTH} nested parentheses or signs")
            return ("neg", self.factor(depth + 1))
        raise RateError(f"unexpected {text!r}")


def parse_rate(source: str) -> Expression:
    """Parse a rate; a :class:`RateError` says what is wrong with it."""
    if not isinstance(source, str) or not source.strip():
        raise RateError("a rate is a non-empty text such as 'hours * 20'")
    if len(source) > MAX_LENGTH:
        raise RateError(f"a rate is at most {MAX_LENGTH} characters")
    parser = _Parser(source)
    tree = parser.expr(0)
    if parser.peek() is not None:
        raise RateError(f"unexpected {parser.peek()[1]!r} after a complete expression")  # type: ignore[index]
    return Expression(source, tree)
