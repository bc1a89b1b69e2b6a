"""The worked example of docs/cooperatives.md, in-process on three instances (SQLite and
PostgreSQL): every ledger ends as the example says, to the last digit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from instance.agents import require_agent
from instance.coop.distributions import distribute
from instance.coop.memberships import add_member
from instance.coopdemo import EXPECTED_BALANCES, CoopStory, Hooks
from instance.demo import Agent, DemoError
from instance.problems import Problem
from tests.coop.conftest import Three


class Killed(Exception):
    """Stands for the process dying between two payments."""


def story_for(three: Three, http: httpx.AsyncClient, tokens: dict[str, str]) -> CoopStory:
    a = three.a

    def agent(name: str, base: str) -> Agent:
        return Agent(http, f"{base}/agents/{name}", tokens[name])

    async def make_coordinator(person: str) -> None:
        async with a.services.db.write() as session:
            org = await require_agent(session, "coop")
            await add_member(session, a.services.urls, org, person, ["coordinator"])

    async def run_distribution(income: str, equation: str) -> str | None:
        async with a.services.db.read() as session:
            org = await require_agent(session, "coop")
        try:
            await distribute(a.services, org, income, equation, by="test")
        except Problem as exc:
            return exc.detail
        return None

    async def settle(check: Callable[[], Awaitable[bool]]) -> None:
        for _ in range(20):
            await three.settle()
            if await check():
                return
        raise DemoError("the condition never held")

    return CoopStory(
        agent("coop", "https://a.test"),
        agent("ann", "https://a.test"),
        agent("dan", "https://a.test"),
        agent("bob", "https://b.test"),
        agent("cat", "https://c.test"),
        agent("cus", "https://a.test"),
        Hooks(make_coordinator, run_distribution),
        settle,
        say=lambda _line: None,
    )


async def make_agents(three: Three) -> dict[str, str]:
    tokens = {"coop": (await three.organization("coop", "open")).token}
    for name, instance in (
        ("ann", three.a), ("dan", three.a), ("cus", three.a), ("bob", three.b), ("cat", three.c)
    ):  # fmt: skip
        tokens[name] = (await three.agent(instance, name)).token
    return tokens


async def test_the_worked_example_on_every_ledger(three: Three) -> None:
    tokens = await make_agents(three)
    async with httpx.AsyncClient(transport=three.network, timeout=30) as http:
        story = story_for(three, http, tokens)
        assert await story.run() == EXPECTED_BALANCES


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_distribution_interrupted_midway_pays_the_rest_once(
    three: Three, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after the first payment: running the distribution again pays the
    others, and nobody twice."""
    import instance.coop.distributions as distributions

    tokens = await make_agents(three)
    real_pay = distributions._pay
    calls: list[int] = []

    async def dying_pay(svc, org, payment_id):  # type: ignore[no-untyped-def]
        if len(calls) == 1:
            raise Killed  # the process is killed here
        calls.append(payment_id)
        await real_pay(svc, org, payment_id)

    async with httpx.AsyncClient(transport=three.network, timeout=30) as http:
        story = story_for(three, http, tokens)
        hooks = story.hooks
        interrupted: list[str] = []

        async def distribute_once_interrupted(income: str, equation: str) -> str | None:
            if len(interrupted) == 1 and not calls:
                monkeypatch.setattr(distributions, "_pay", dying_pay)
                try:
                    await hooks.distribute(income, equation)
                except Killed:
                    interrupted.append(income)
                monkeypatch.setattr(distributions, "_pay", real_pay)
            else:
                interrupted.append(income)
            return await hooks.distribute(income, equation)

        story.hooks = Hooks(hooks.make_coordinator, distribute_once_interrupted)
        assert await story.run() == EXPECTED_BALANCES
    assert len(calls) == 1  # one payment before the kill; the rest after, once each
    assert len(interrupted) == 3
