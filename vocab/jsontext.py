"""Strict, bounded JSON for the inbox hot path.

:func:`loads` parses with the C parser, then checks the limits in one iterative walk.
It refuses what JSON-LD processing or an attacker could turn into ambiguity or cost:
duplicate keys (which value would a signature have covered?), ``NaN`` and infinities,
absurd nesting, huge strings, arrays and numbers (digits and exponents: ``1e99999999999``
would cost gigabytes the first time anything writes it out). It reads UTF-8 only, with
no byte-order mark, and refuses text no store or renderer can keep: NUL characters
(PostgreSQL cannot store them) and lone surrogates (no UTF-8 encoder can write them).
Numbers come back as ``int`` or ``decimal.Decimal``, never ``float``, so quantities
stay exact.

Errors carry a JSON pointer. The fast parse does not track positions; when it fails,
a slower diagnostic pass finds where, which costs nothing on the happy path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from vocab.errors import JsonError

__all__ = ["DEFAULT_LIMITS", "JsonLimits", "dumps", "loads", "pointer"]


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """Bounds applied by :func:`loads`."""

    max_depth: int = 32
    max_string_chars: int = 65_536
    max_items: int = 10_000
    max_number_digits: int = 40
    #: Largest power of ten a number may carry (beyond any float's range: a sender
    #: that writes floats is never refused for it).
    max_number_exponent: int = 400


DEFAULT_LIMITS = JsonLimits()


def pointer(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """Return the RFC 6901 JSON pointer for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Refused(Exception):
    """Raised inside the parser hooks; turned into a JsonError with a pointer."""


def _pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused
    return result


def _refuse_constant(name: str) -> Any:
    raise _Refused


def _digit_count(text: str) -> int:
    return sum(1 for c in text if c.isdigit())


_BOM = "\ufeff"
#: Characters no string may hold: NUL, and surrogates (only lone ones survive decoding).
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def _number_problem(text: str, limits: JsonLimits) -> str | None:
    """Why a JSON number with a fraction or exponent is refused, or None."""
    if _digit_count(text) > limits.max_number_digits:
        return f"number has more than {limits.max_number_digits} digits"
    _mantissa, e, exponent = text.lower().partition("e")
    if e:
        # Read the exponent from its digits before Decimal does anything with it.
        digits = exponent.lstrip("+-").lstrip("0")
        if len(digits) > len(str(limits.max_number_exponent)) or (
            abs(int(digits or "0")) > limits.max_number_exponent
        ):
            return f"number's exponent is beyond ±{limits.max_number_exponent}"
    return None


def _text_problem(value: str) -> str | None:
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "text contains a NUL character (U+0000)"
    return f"text contains a lone surrogate (U+{ord(found.group()):04X})"


def _decode(data: bytes | str) -> str:
    """UTF-8 text without a byte-order mark (json.loads would guess UTF-16 or skip it)."""
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):
            raise JsonError("", "a byte-order mark before the JSON is not allowed")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonError("", "the document is not valid UTF-8") from None
    if data.startswith(_BOM):
        raise JsonError("", "a byte-order mark before the JSON is not allowed")
    return data


def loads(data: bytes | str, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """Parse JSON text strictly: no duplicate keys, no NaN, no floats, bounded size.

    Raises :class:`~vocab.errors.JsonError` with the JSON pointer of the first problem.
    """
    text = _decode(data)

    def parse_float(number: str) -> Decimal:
        if _number_problem(number, limits) is not None:
            raise _Refused
        return Decimal(number)

    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs_to_dict,
            parse_float=parse_float,
            parse_constant=_refuse_constant,
        )
    except _Refused:
        raise _diagnose(text, limits) from None
    except RecursionError:
        raise JsonError(
            _deep_pointer(text, limits.max_depth),
            f"nesting is deeper than {limits.max_depth} levels",
        ) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise JsonError("", f"not valid JSON ({exc.msg} at {where})") from None
    except ValueError as exc:
        # Python refuses integers beyond its own digit limit before our walk sees them.
        raise JsonError("", f"not acceptable JSON ({exc})") from None
    # A NUL or a surrogate can only come from a \\u escape: raw control characters are
    # refused by the parser, and strict UTF-8 decoding never yields a surrogate.
    _check(value, limits, len(text), text.count("[") + text.count("{"), "\\u" in text)
    return value


def _check(root: Any, limits: JsonLimits, length: int, brackets: int, escapes: bool) -> None:
    """Walk once, iteratively, checking depth, sizes and integers.

    The text's length bounds what can be in it: a limit the whole text cannot exceed
    is not checked value by value (a short inbox POST only pays for the depth walk).
    """
    max_depth = limits.max_depth
    max_chars = limits.max_string_chars
    max_items = limits.max_items
    check_depth = brackets > max_depth  # brackets inside strings only over-count
    check_text = escapes
    check_strings = length > max_chars or check_text
    check_items = length >= 2 * max_items  # N entries need at least 2N - 1 characters
    check_ints = length > limits.max_number_digits
    if not (check_depth or check_strings or check_items or check_ints):
        return
    int_bound = 10**limits.max_number_digits
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(root, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict):
            items: Iterator[tuple[str | int, Any]] = iter(value.items())
            size = len(value)
        elif isinstance(value, list):
            items = enumerate(value)
            size = len(value)
        elif isinstance(value, str):
            if len(value) > max_chars:
                raise JsonError(pointer(path), f"string longer than {max_chars} characters")
            if check_text and (problem := _text_problem(value)) is not None:
                raise JsonError(pointer(path), problem)
            continue
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -int_bound < value < int_bound:
                raise JsonError(
                    pointer(path), f"number has more than {limits.max_number_digits} digits"
                )
            continue
        else:
            continue
        depth += 1
        if depth > max_depth:
            raise JsonError(pointer(path), f"nesting is deeper than {max_depth} levels")
        if check_items and size > max_items:
            raise JsonError(pointer(path), f"more than {max_items} entries")
        for key, child in items:
            if check_strings and isinstance(key, str) and len(key) > max_chars:
                raise JsonError(pointer(path), f"key longer than {max_chars} characters")
            if check_text and isinstance(key, str) and (problem := _text_problem(key)):
                raise JsonError(pointer(path), "a key's " + problem)
            if (
                isinstance(child, (dict, list))
                or (check_strings and isinstance(child, str))
                or (check_ints and isinstance(child, int))
            ):
                stack.append((child, depth, (*path, key)))


class _Marker:
    """Stands in for a refused value during the diagnostic parse."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Pairs(list[tuple[str, Any]]):
    """An object kept as its list of pairs, so duplicates stay visible."""


def _diagnose(data: str, limits: JsonLimits) -> JsonError:
    """Parse again keeping every pair and marking refused values, then find the first."""

    def parse_float(text: str) -> Any:
        problem = _number_problem(text, limits)
        if problem is not None:
            return _Marker(problem)
        return Decimal(text)

    def parse_constant(name: str) -> Any:
        return _Marker(f"{name} is not a number JSON allows")

    try:
        value = json.loads(
            data,
            object_pairs_hook=_Pairs,
            parse_float=parse_float,
            parse_constant=parse_constant,
        )
    except json.JSONDecodeError as exc:
        # The fast parse stopped at a refused value before reaching a syntax error
        # later on (``NaN x``): the syntax error is the problem to name.
        where = f"line {exc.lineno}, column {exc.colno}"
        return JsonError("", f"not valid JSON ({exc.msg} at {where})")
    # Depth first, children pushed in reverse, so the first problem in document order wins.
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Marker):
            return JsonError(pointer(path), node.reason)
        if isinstance(node, _Pairs):
            seen: set[str] = set()
            for key, _child in node:
                if key in seen:
                    return JsonError(pointer((*path, key)), "duplicate key")
                seen.add(key)
            stack.extend((child, (*path, key)) for key, child in reversed(node))
        elif isinstance(node, list):
            stack.extend((node[i], (*path, i)) for i in range(len(node) - 1, -1, -1))
    return JsonError("", "refused JSON")  # pragma: no cover - the fast parse found something


def _deep_pointer(text: str, max_depth: int) -> str:
    """Find the pointer of the first container nested deeper than ``max_depth``.

    Only used when the C parser gave up on absurd nesting, so a character scan is fine.
    """
    path: list[str | int] = []
    kinds: list[str] = []
    expect_key = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if expect_key:
                try:
                    path[-1] = json.loads(text[i : j + 1])
                except ValueError:
                    path[-1] = text[i + 1 : j]
                expect_key = False
            i = j + 1
            continue
        if c in "[{":
            if len(kinds) >= max_depth:
                return pointer(path)
            kinds.append(c)
            path.append(0 if c == "[" else "")
            expect_key = c == "{"
        elif c in "]}":
            if kinds:
                kinds.pop()
                path.pop()
        elif c == ",":
            if kinds and kinds[-1] == "[":
                last = path[-1]
                path[-1] = last + 1 if isinstance(last, int) else 0
            else:
                expect_key = True
        i += 1
    return pointer(path)


def dumps(value: Any) -> str:
    """Serialize to compact JSON, writing ``Decimal`` as an exact JSON number.

    The inverse of :func:`loads` for what oce produces (the stdlib encoder would
    refuse ``Decimal``, and converting through ``float`` would lose digits).
    """
    return "".join(_encode(value))


def _encode(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield json.dumps(value, ensure_ascii=False)
    elif value is None:
        yield "null"
    elif value is True:
        yield "true"
    elif value is False:
        yield "false"
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise JsonError("", f"{value} is not a number JSON allows")
        yield format(value, "f")
    elif isinstance(value, dict):
        yield "{"
        first = True
        for key, child in value.items():
            if not isinstance(key, str):
                raise JsonError("", f"object key {key!r} is not a string")
            if not first:
                yield ","
            first = False
            yield json.dumps(key, ensure_ascii=False)
            yield ":"
            yield from _encode(child)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for i, child in enumerate(value):
            if i:
                yield ","
            yield from _encode(child)
        yield "]"
    else:
        raise JsonError("", f"{type(value).__name__} is not JSON serializable")
