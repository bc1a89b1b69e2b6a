"""Sharing an income by a value equation: pure arithmetic, no database.

:func:`share` takes the amount, the equation, the approved contributions and what each
claim has been paid so far, and returns every part: exact (as fractions), then rounded
down to the currency's precision, with the rounding difference added to the largest
part, so the parts are never negative and always add up to the amount exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from instance.coop.arith import RateError
from instance.coop.equations import Bucket, Equation, Rule
from instance.problems import Problem

__all__ = ["Contribution", "Part", "Sharing", "claim_key", "share"]

#: The recipient of what the equation does not give away (it stays with the organization).
KEPT = "kept"


@dataclass(frozen=True)
class Contribution:
    """An approved contribution, as the equation sees it."""

    event: str
    contributor: str
    action: str
    at: datetime
    hours: Decimal | None = None
    quantity: Decimal | None = None
    conforms_to: str | None = None
    process: str | None = None
    plan: str | None = None


@dataclass(frozen=True)
class ClaimSoFar:
    """A claim from an earlier distribution: its value and what it has been paid."""

    value: Decimal
    paid: Decimal
    times: int


@dataclass
class Part:
    """One recipient's part from one bucket (and one claim, for rule buckets)."""

    recipient: str
    bucket: str
    exact: Fraction
    amount: Decimal = Decimal(0)
    claim: str | None = None
    claim_type: str | None = None
    #: The claim's value (what the contribution is worth by the rule).
    claim_value: Fraction | None = None


@dataclass
class Sharing:
    amount: Decimal
    parts: list[Part]
    kept: Part

    def by_recipient(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for part in self.parts:
            totals[part.recipient] = totals.get(part.recipient, Decimal(0)) + part.amount
        return {who: total for who, total in totals.items() if total > 0}


def claim_key(equation: str, bucket: str, event: str) -> str:
    return f"{equation}\x1f{bucket}\x1f{event}"


def _matches(bucket: Bucket, c: Contribution) -> bool:
    f = bucket.filters
    return (
        (not f.actions or c.action in f.actions)
        and (not f.resource_conforms_to or c.conforms_to in f.resource_conforms_to)
        and (f.after is None or c.at >= f.after)
        and (f.before is None or c.at < f.before)
        and (not f.processes or c.process in f.processes)
        and (not f.plans or c.plan in f.plans)
    )


def _value(rule: Rule, c: Contribution) -> Fraction:
    variables = {
        name: value
        for name, value in (("hours", c.hours), ("quantity", c.quantity))
        if value is not None
    }
    try:
        return rule.rate.value(variables)
    except RateError as exc:
        raise Problem(422, f"rule for {rule.action}: {exc} ({c.event})", field="rate") from None


def _bucket_parts(
    equation: Equation,
    bucket: Bucket,
    allotted: Fraction,
    contributions: Sequence[Contribution],
    claims: Mapping[str, ClaimSoFar],
) -> list[Part]:
    if bucket.distribution_agent is not None:
        return [Part(bucket.distribution_agent, bucket.name, allotted)]
    rules = {rule.action: rule for rule in bucket.rules}
    # (part, weight, cap): cap is what a capped claim may still get (None: no cap).
    candidates: list[tuple[Part, Fraction, Fraction | None, Contribution, Rule]] = []
    for c in contributions:
        rule = rules.get(c.action)
        if rule is None or not _matches(bucket, c):
            continue
        value = _value(rule, c)
        if value <= 0:
            continue
        key = claim_key(equation.name, bucket.name, c.event)
        before = claims.get(key)
        cap: Fraction | None
        if rule.claim_type == "debt-like":
            cap = value - Fraction(before.paid) if before else value
        elif rule.claim_type == "once":
            cap = Fraction(0) if before and before.times else value
        else:
            cap = None
        weight = value if cap is None else cap
        if weight <= 0:
            continue
        part = Part(c.contributor, bucket.name, Fraction(0), claim=key)
        part.claim_type, part.claim_value = rule.claim_type, value
        candidates.append((part, weight, cap, c, rule))
    if not candidates:
        return []
    oldest_first = [x for x in candidates if x[4].division == "oldest-first"]
    proportional = [x for x in candidates if x[4].division == "proportional"]
    left = allotted
    # Oldest first: paid in the order the work happened, each up to its claim.
    # A stable sort: equally old claims keep the order the contributions came in.
    for part, weight, _cap, _c, _rule in sorted(oldest_first, key=lambda x: x[3].at):
        part.exact = min(left, weight)
        left -= part.exact
    total = sum((weight for _p, weight, _cap, _c, _r in proportional), Fraction(0))
    if total > 0 and left > 0:
        pool = left
        for part, weight, cap, _c, _r in proportional:
            exact = pool * weight / total
            part.exact = exact if cap is None else min(exact, cap)
    return [part for part, *_rest in candidates]


def _round_down(value: Fraction, quantum: Decimal) -> Decimal:
    steps = value / Fraction(quantum)
    return (Decimal(steps.numerator // steps.denominator) * quantum).quantize(
        quantum, rounding=ROUND_DOWN
    )


def share(
    amount: Decimal,
    precision: int,
    equation: Equation,
    contributions: Sequence[Contribution],
    claims: Mapping[str, ClaimSoFar],
    organization: str,
) -> Sharing:
    """Every part of ``amount`` by ``equation``; see the module docstring."""
    quantum = Decimal(1).scaleb(-precision)
    if amount <= 0:
        raise Problem(422, "the income to share must be more than zero", field="income")
    if amount != amount.quantize(quantum, rounding=ROUND_DOWN):
        raise Problem(
            422,
            f"the income {amount} has more decimals than the currency's {precision}",
            field="income",
        )
    whole = Fraction(amount)
    remaining = whole
    parts: list[Part] = []
    for bucket in equation.buckets:
        base = whole if equation.percentage_behavior == "straight" else remaining
        allotted = min(base * Fraction(bucket.percentage) / 100, remaining)
        found = _bucket_parts(equation, bucket, allotted, contributions, claims)
        remaining -= sum((p.exact for p in found), Fraction(0))
        parts.extend(found)
    kept = Part(organization, KEPT, remaining)
    for part in [*parts, kept]:
        part.amount = _round_down(part.exact, quantum)
    difference = amount - sum((p.amount for p in [*parts, kept]), Decimal(0))
    # The rounding difference (never negative, since every part was rounded down) goes
    # to the largest part, the first one when several are equally large (contributions
    # come oldest first, equally old ones in the order the organization recorded them).
    largest = max(parts, key=lambda p: p.exact, default=kept)
    if largest.exact <= 0:
        largest = kept
    largest.amount += difference
    return Sharing(amount, parts, kept)
