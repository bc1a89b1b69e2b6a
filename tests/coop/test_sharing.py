"""Value equations and the arithmetic of sharing an income (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instance.coop.arith import RateError, parse_rate
from instance.coop.equations import CLAIM_TYPES, equation_document, read_equation
from instance.coop.sharing import ClaimSoFar, Contribution, claim_key, share
from instance.problems import Problem

ORG = "https://a.test/agents/coop"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_rates_are_parsed_and_evaluated_exactly() -> None:
    assert parse_rate("hours * 20").value({"hours": Decimal("2.5")}) == 50
    assert parse_rate("(hours + 1) / 3 * 3").value({"hours": Decimal(2)}) == 3
    assert parse_rate("-quantity + 10").value({"quantity": Decimal(4)}) == 6
    assert parse_rate("hours / 3").value({"hours": Decimal(1)}) == Fraction(1, 3)


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("__import__('os')", "unexpected"),
        ("hours ** 2", "unexpected '\\*'"),
        ("price * 2", "'price' is not a variable"),
        ("(hours * 2", "ends too early"),
        ("hours 2", "after a complete expression"),
        ("(" * 30 + "1" + ")" * 30, "nested"),
        ("1" * 40, "digits"),
        ("x" * 300, "at most 200"),
    ],
)
def test_a_rate_outside_the_language_is_refused_with_the_reason(source: str, why: str) -> None:
    with pytest.raises(RateError, match=why):
        parse_rate(source)


def test_division_by_zero_is_an_error_not_a_crash() -> None:
    with pytest.raises(RateError, match="division by zero"):
        parse_rate("hours / (quantity - quantity)").value(
            {"hours": Decimal(1), "quantity": Decimal(2)}
        )


EXAMPLE: dict[str, Any] = {
    "type": "ValueEquation",
    "name": "default",
    "percentageBehavior": "straight",
    "buckets": [
        {"name": "founder", "percentage": "10", "distributionAgent": "https://a.test/agents/ann"},
        {
            "name": "work",
            "percentage": "90",
            "filters": {"action": ["work"]},
            "rules": [
                {"action": "work", "rate": "hours * 20", "division": "proportional",
                 "claimType": "debt-like"}
            ],
        },
    ],
}  # fmt: skip


ANN = "https://a.test/agents/ann"
WORKED = {
    **EXAMPLE,
    "buckets": [
        {"name": "founder", "percentage": "25", "distributionAgent": ANN},
        {
            "name": "work",
            "percentage": "75",
            "rules": [{"action": "work", "rate": "hours * 30", "claimType": "debt-like"}],
        },
    ],
}


def test_an_equation_document_reads_back_the_same() -> None:
    equation = read_equation(EXAMPLE)
    assert read_equation(equation_document(equation)) == equation
    assert equation_document(equation)["buckets"][1]["rules"][0]["rate"] == "hours * 20"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"percentageBehavior": "sideways"}, "percentageBehavior"),
        ({"buckets": []}, "buckets"),
        ({"buckets": [{"name": "x", "percentage": "101", "distributionAgent": ORG}]},
         "buckets[0].percentage"),
        ({"buckets": [{"name": "x", "percentage": "60", "distributionAgent": ORG},
                      {"name": "y", "percentage": "60", "distributionAgent": ORG}]}, "buckets"),
        ({"buckets": [{"name": "x", "percentage": "10"}]}, "buckets[0]"),
        ({"buckets": [{"name": "x", "percentage": "10",
                       "rules": [{"action": "work", "rate": "hours*", "claimType": "once"}]}]},
         "buckets[0].rules[0].rate"),
        ({"buckets": [{"name": "x", "percentage": "10",
                       "rules": [{"action": "dance", "rate": "hours"}]}]},
         "buckets[0].rules[0].action"),
        ({"buckets": [{"name": "x", "percentage": 0.1, "distributionAgent": ORG}]},
         "buckets[0].percentage"),
    ],
)  # fmt: skip
def test_a_wrong_equation_names_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(Problem) as caught:
        read_equation({**EXAMPLE, **change})
    assert caught.value.status == 422
    assert caught.value.field == field


def work(who: str, hours: str, day: int = 0) -> Contribution:
    return Contribution(
        event=f"https://x.test/events/{who}-{hours}-{day}",
        contributor=who,
        action="work",
        at=T0 + timedelta(days=day),
        hours=Decimal(hours),
    )


def test_the_worked_example_shares_to_the_cent() -> None:
    """docs/cooperatives.md, worked example: ann's fixed 25 %, then 75 % by hours x 30
    among dan (20 h, logged first), bob (10 h) and cat (7 h). The first income (400.00)
    pays dan 300 of his 600; the second (500.00) shares the rest."""
    equation = read_equation(WORKED)
    dan, bob, cat = work("dan", "20", 0), work("bob", "10", 1), work("cat", "7", 2)
    first = share(Decimal("400.00"), 2, equation, [dan], {}, ORG)
    assert first.by_recipient() == {ANN: Decimal("100.00"), "dan": Decimal("300.00")}
    paid = {claim_key("default", "work", dan.event): ClaimSoFar(Decimal(600), Decimal(300), 1)}
    second = share(Decimal("500.00"), 2, equation, [dan, bob, cat], paid, ORG)
    assert second.by_recipient() == {
        ANN: Decimal("125.00"),
        "dan": Decimal("138.90"),  # 138.888…, rounded down, plus the difference of 0.02
        "bob": Decimal("138.88"),
        "cat": Decimal("97.22"),
    }
    assert second.kept.amount == Decimal("0.00")


def test_rounding_difference_goes_to_the_largest_share() -> None:
    equation = read_equation(
        {
            **EXAMPLE,
            "buckets": [
                {
                    "name": "all",
                    "percentage": "100",
                    "rules": [{"action": "work", "rate": "hours", "claimType": "equity-like"}],
                }
            ],
        }
    )
    result = share(
        Decimal("100.00"),
        2,
        equation,
        [work("a", "1"), work("b", "1"), work("c", "1.0001")],
        {},
        ORG,
    )
    amounts = {p.recipient: p.amount for p in result.parts}
    assert sum(amounts.values()) + result.kept.amount == Decimal("100.00")
    assert amounts == {"a": Decimal("33.33"), "b": Decimal("33.33"), "c": Decimal("33.34")}


def test_oldest_first_pays_the_oldest_claims_in_full() -> None:
    bucket = {
        "name": "w",
        "percentage": "100",
        "rules": [{"action": "work", "rate": "hours * 10", "division": "oldest-first"}],
    }
    equation = read_equation({**EXAMPLE, "buckets": [bucket]})
    result = share(Decimal("50"), 0, equation, [work("new", "4", 2), work("old", "3", 1)], {}, ORG)
    assert result.by_recipient() == {"old": Decimal(30), "new": Decimal(20)}


def test_an_income_finer_than_the_currency_is_refused() -> None:
    with pytest.raises(Problem, match="more decimals"):
        share(Decimal("1.005"), 2, read_equation(EXAMPLE), [], {}, ORG)


# Property: for any contributions and equations, parts are never negative and add up.

_amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)
_hours = st.decimals(min_value=Decimal("0"), max_value=Decimal("500"), places=3)
_percent = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2)


@st.composite
def equations(draw: st.DrawFn) -> dict[str, object]:
    behavior = draw(st.sampled_from(["straight", "remaining"]))
    buckets: list[dict[str, object]] = []
    budget = Decimal(100)
    for i in range(draw(st.integers(1, 4))):
        pct = draw(_percent) if behavior == "remaining" else min(draw(_percent), budget)
        budget -= pct
        if draw(st.booleans()):
            buckets.append({"name": f"b{i}", "percentage": str(pct), "distributionAgent": "f"})
        else:
            rate = draw(st.sampled_from(["hours * 20", "hours", "hours / 3 + 1", "hours * 7.77"]))
            buckets.append(
                {
                    "name": f"b{i}",
                    "percentage": str(pct),
                    "rules": [
                        {
                            "action": "work",
                            "rate": rate,
                            "division": draw(st.sampled_from(["proportional", "oldest-first"])),
                            "claimType": draw(st.sampled_from(CLAIM_TYPES)),
                        }
                    ],
                }
            )
    return {
        "type": "ValueEquation",
        "name": "e",
        "percentageBehavior": behavior,
        "buckets": buckets,
    }


@settings(max_examples=200, deadline=None)
@given(
    amount=_amounts,
    document=equations(),
    hours=st.lists(st.tuples(st.sampled_from("abcde"), _hours, st.integers(0, 30)), max_size=8),
    paid_fraction=st.fractions(min_value=0, max_value=2),
)
def test_parts_are_never_negative_and_add_up_exactly(
    amount: Decimal,
    document: dict[str, object],
    hours: list[tuple[str, Decimal, int]],
    paid_fraction: Fraction,
) -> None:
    equation = read_equation(document)
    contributions = [work(who, str(h), day) for who, h, day in hours]
    claims = {
        claim_key("e", bucket.name, c.event): ClaimSoFar(
            Decimal(20),
            (Decimal(paid_fraction.numerator * 20) / paid_fraction.denominator).quantize(
                Decimal("0.01")
            ),
            1,
        )
        for bucket in equation.buckets
        for c in contributions[::2]
    }
    result = share(amount, 2, equation, contributions, claims, ORG)
    everything = [*result.parts, result.kept]
    assert all(part.amount >= 0 for part in everything)
    assert sum(part.amount for part in everything) == amount
    assert all(part.amount == part.amount.quantize(Decimal("0.01")) for part in everything)
