"""Value equations: how an organization shares an income among its contributors.

A ``ValueEquation`` document (terms in oce's bundled context) is read into the typed,
checked :class:`Equation` here; nothing is stored or evaluated. OCP's model, with the
differences named in docs/cooperatives.md::

    {"type": "ValueEquation", "name": "default", "percentageBehavior": "straight",
     "buckets": [
       {"name": "founder", "percentage": "10", "distributionAgent": "https://…/agents/ann"},
       {"name": "work", "percentage": "90",
        "filters": {"action": ["work"], "after": "2026-01-01T00:00:00Z"},
        "rules": [{"action": "work", "rate": "hours * 20", "division": "proportional",
                   "claimType": "debt-like"}]}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from instance.coop.arith import Expression, RateError, parse_rate
from instance.problems import Problem
from vocab import get_action
from vocab.errors import ActionError

__all__ = [
    "CLAIM_TYPES",
    "DIVISIONS",
    "Bucket",
    "Equation",
    "Filters",
    "Rule",
    "equation_document",
    "read_equation",
]

DIVISIONS = ("proportional", "oldest-first")
CLAIM_TYPES = ("debt-like", "equity-like", "once")
BEHAVIORS = ("straight", "remaining")
MAX_BUCKETS = 20
MAX_RULES = 20
MAX_FILTER_VALUES = 50
_NAME_LIMIT = 100


@dataclass(frozen=True)
class Rule:
    """What one kind of contribution is worth in a bucket, and how it is paid."""

    action: str
    rate: Expression
    division: str
    claim_type: str


@dataclass(frozen=True)
class Filters:
    """Which approved contributions a bucket counts (every given condition must hold)."""

    actions: tuple[str, ...] = ()
    resource_conforms_to: tuple[str, ...] = ()
    after: datetime | None = None
    before: datetime | None = None
    processes: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bucket:
    """A slice of the income: to a fixed recipient, or to contributions by rules."""

    name: str
    percentage: Decimal
    distribution_agent: str | None = None
    filters: Filters = field(default_factory=Filters)
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Equation:
    name: str
    percentage_behavior: str
    buckets: tuple[Bucket, ...]


def _fail(where: str, why: str) -> Problem:
    return Problem(422, f"{where}: {why}", field=where)


def _text(value: Any, where: str, limit: int = _NAME_LIMIT) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _fail(where, f"must be a text of 1 to {limit} characters")
    return value


def _percentage(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _fail(where, 'must be a decimal number written as a string, such as "12.5"')
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _fail(where, f"{value!r} is not a decimal number") from None
    if not number.is_finite() or number < 0 or number > 100:
        raise _fail(where, "must be between 0 and 100")
    if len(number.as_tuple().digits) > 12:
        raise _fail(where, "has more than 12 digits")
    return number


def _list(value: Any, where: str, limit: int = MAX_FILTER_VALUES) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if len(items) > limit:
        raise _fail(where, f"at most {limit} values")
    return tuple(_text(item, where, 2000) for item in items)


def _moment(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    text = _text(value, where)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(where, f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise _fail(where, "needs a time zone (such as Z)")
    return moment


def _action(value: Any, where: str) -> str:
    name = _text(value, where)
    try:
        return get_action(name).name
    except ActionError:
        raise _fail(where, f"{name!r} is not a ValueFlows action") from None


def _filters(value: Any, where: str) -> Filters:
    if value is None:
        return Filters()
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    known = {"action", "resourceConformsTo", "after", "before", "process", "plan"}
    if extra := set(value) - known:
        raise _fail(
            where, f"unknown filter {sorted(extra)[0]!r} (known: {', '.join(sorted(known))})"
        )
    filters = Filters(
        actions=tuple(_action(a, f"{where}.action") for a in _list(value.get("action"), where)),
        resource_conforms_to=_list(value.get("resourceConformsTo"), f"{where}.resourceConformsTo"),
        after=_moment(value.get("after"), f"{where}.after"),
        before=_moment(value.get("before"), f"{where}.before"),
        processes=_list(value.get("process"), f"{where}.process"),
        plans=_list(value.get("plan"), f"{where}.plan"),
    )
    if filters.after and filters.before and filters.after >= filters.before:
        raise _fail(f"{where}.before", "must be later than after")
    return filters


def _rule(value: Any, where: str) -> Rule:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    try:
        rate = parse_rate(str(value.get("rate") or ""))
    except RateError as exc:
        raise _fail(f"{where}.rate", str(exc)) from None
    division = value.get("division", "proportional")
    if division not in DIVISIONS:
        raise _fail(f"{where}.division", f"must be one of {', '.join(DIVISIONS)}")
    claim_type = value.get("claimType", "debt-like")
    if claim_type not in CLAIM_TYPES:
        raise _fail(f"{where}.claimType", f"must be one of {', '.join(CLAIM_TYPES)}")
    return Rule(_action(value.get("action"), f"{where}.action"), rate, division, claim_type)


def _bucket(value: Any, where: str) -> Bucket:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    agent = value.get("distributionAgent")
    rules = value.get("rules") or []
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise _fail(f"{where}.rules", f"must be a list of at most {MAX_RULES} rules")
    if agent is not None and rules:
        raise _fail(where, "has either a distributionAgent or rules, not both")
    if agent is None and not rules:
        raise _fail(where, "needs a distributionAgent or at least one rule")
    parsed = tuple(_rule(rule, f"{where}.rules[{i}]") for i, rule in enumerate(rules))
    if len({rule.action for rule in parsed}) != len(parsed):
        raise _fail(f"{where}.rules", "at most one rule per action")
    return Bucket(
        name=_text(value.get("name", where), f"{where}.name"),
        percentage=_percentage(value.get("percentage"), f"{where}.percentage"),
        distribution_agent=_text(agent, f"{where}.distributionAgent", 2000) if agent else None,
        filters=_filters(value.get("filters"), f"{where}.filters"),
        rules=parsed,
    )


def read_equation(document: Mapping[str, Any]) -> Equation:
    """The checked equation; a 422 problem naming the first field that is wrong."""
    if document.get("type") != "ValueEquation":
        raise _fail("type", "must be ValueEquation")
    behavior = document.get("percentageBehavior", "straight")
    if behavior not in BEHAVIORS:
        raise _fail("percentageBehavior", f"must be one of {', '.join(BEHAVIORS)}")
    buckets = document.get("buckets")
    if not isinstance(buckets, list) or not 1 <= len(buckets) <= MAX_BUCKETS:
        raise _fail("buckets", f"must be a list of 1 to {MAX_BUCKETS} buckets")
    parsed = tuple(_bucket(bucket, f"buckets[{i}]") for i, bucket in enumerate(buckets))
    if behavior == "straight" and sum(b.percentage for b in parsed) > 100:
        raise _fail("buckets", "straight percentages add up to more than 100")
    return Equation(_text(document.get("name"), "name"), behavior, parsed)


def equation_document(equation: Equation) -> dict[str, Any]:
    """The equation as a document (what :func:`read_equation` reads back)."""

    def filters(f: Filters) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, values in (
            ("action", f.actions),
            ("resourceConformsTo", f.resource_conforms_to),
            ("process", f.processes),
            ("plan", f.plans),
        ):
            if values:
                out[key] = list(values)
        for key, moment in (("after", f.after), ("before", f.before)):
            if moment is not None:
                out[key] = moment.isoformat().replace("+00:00", "Z")
        return out

    buckets: list[dict[str, Any]] = []
    for bucket in equation.buckets:
        item: dict[str, Any] = {"name": bucket.name, "percentage": str(bucket.percentage)}
        if bucket.distribution_agent:
            item["distributionAgent"] = bucket.distribution_agent
        if found := filters(bucket.filters):
            item["filters"] = found
        if bucket.rules:
            item["rules"] = [
                {
                    "action": rule.action,
                    "rate": rule.rate.source,
                    "division": rule.division,
                    "claimType": rule.claim_type,
                }
                for rule in bucket.rules
            ]
        buckets.append(item)
    return {
        "type": "ValueEquation",
        "name": equation.name,
        "percentageBehavior": equation.percentage_behavior,
        "buckets": buckets,
    }
