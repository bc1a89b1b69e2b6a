"""A cooperative across three real instance processes, over signed HTTP on loopback.

One set of three SQLite instances serves the whole module (each test uses agents of its
own): the worked example of docs/cooperatives.md to the last digit on every ledger, each
joining style (shares bought through an agreement from another instance), a
non-coordinator refused, a join rejected with its reason, the features of value
equations no worked example shows, and a distribution whose process is killed midway.
The worked example runs again on PostgreSQL, on its own three instances."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from instance.coopdemo import EXPECTED_BALANCES, CoopStory, Hooks
from instance.demo import Agent, _poll
from tests.databases import PostgresFactory
from tests.e2e.conftest import sqlite_url
from tests.e2e.coopkit import (
    agent,
    answered,
    balances_become,
    join_open,
    oce_here,
    pay,
    refusal,
    rows,
    spec_of,
    until,
)
from tests.processes import ROOT, Process, free_port, instance_env, oce

pytestmark = pytest.mark.e2e

Three = tuple[Process, Process, Process]


@contextmanager
def three_instances(urls: tuple[str, str, str], tmp_path: Path) -> Iterator[Three]:
    """Three instances, started together and stopped together (one after the other
    costs their start-up and shut-down times three times over)."""
    trio: list[Process] = []
    for name, url in zip("abc", urls, strict=True):
        base_url = f"http://127.0.0.1:{free_port()}"
        env = instance_env(base_url, url)
        trio.append(Process(name, base_url, env, tmp_path / f"{name}.log"))
    try:
        for process in trio:
            process.start(wait=False)
        for process in trio:
            process.wait_ready()
        yield trio[0], trio[1], trio[2]
    finally:
        for process in trio:
            if process.popen is not None and process.popen.poll() is None:
                process.popen.terminate()
        for process in trio:
            process.stop()


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Three]:
    """Three SQLite instances shared by the module's tests."""
    tmp_path = tmp_path_factory.mktemp("coop")
    urls = (sqlite_url(tmp_path, "a"), sqlite_url(tmp_path, "b"), sqlite_url(tmp_path, "c"))
    with three_instances(urls, tmp_path) as started:
        yield started


async def run_story(a: Process, b: Process, c: Process, http: httpx.AsyncClient) -> CoopStory:
    where = {"ann": a, "dan": a, "cus": a, "bob": b, "cat": c}
    agents = {"coop": await agent(http, a, "coop", "--type", "organization", "--joining", "open")}
    for name, server in where.items():
        agents[name] = await agent(http, server, name)

    async def make_coordinator(person: str) -> None:
        await oce_here(a, "member", "add", "coop", person, "--role", "coordinator")

    async def distribute(income: str, equation: str) -> str | None:
        return await refusal(a, "distribute", "coop", "--income", income, "--equation", equation)

    story = CoopStory(
        agents["coop"], agents["ann"], agents["dan"], agents["bob"], agents["cat"],
        agents["cus"], Hooks(make_coordinator, distribute), _poll, lambda _line: None,
    )  # fmt: skip
    assert await story.run() == EXPECTED_BALANCES
    return story


def test_a_cooperative_across_three_instances(trio: Three) -> None:
    a, b, _c = trio

    async def run() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            story = await run_story(*trio, http)
            dan = story.dan

            # dan is a member, not a coordinator: he cannot speak for the cooperative.
            refused = await http.post(
                f"{story.org.id}/outbox",
                json={"type": "Note", "content": "free credits for all"},
                headers=dan.headers,
            )
            assert refused.status_code == 403
            assert "dan, who cannot act for coop" in refused.json()["detail"]

            # Moderated: eve (on B) is rejected by ann, acting for the cooperative.
            await oce_here(a, "org", "set", "coop", "--joining", "moderated")
            eve = await agent(http, b, "eve")
            join = await eve.post({"type": "Join", "object": story.org.id})
            as_coop = Agent(http, story.org.id, story.ann.token)

            await until(lambda: _known_at(a, join["id"]))
            await as_coop.post(
                {"type": "Reject", "object": join["id"], "content": "we are full this season"}
            )
            await until(lambda: answered(eve, join["id"], "Reject", "we are full"))

            # Shares: eve (on B) buys the shop's share (on A) through an agreement, and
            # is a member once her payment fulfils it.
            created = await oce_here(
                a, "agent", "create", "shop", "--type", "organization", "--joining", "shares",
                "--share-price", "50", "--share-in", story.spec,
            )  # fmt: skip
            proposal = created.split("share proposal: ")[1].strip()
            shop_id = f"{a.base_url}/agents/shop"
            join = await eve.post({"type": "Join", "object": shop_id})
            await until(lambda: _known_at(a, join["id"]))
            offer = await eve.post(
                {
                    "type": "Offer",
                    "object": {
                        "type": "Agreement",
                        "stipulates": {
                            "type": "Commitment",
                            "satisfies": f"{proposal}#primary",
                            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "50"},
                        },
                    },
                }
            )
            await until(lambda: answered(eve, offer["id"], "Accept"))
            agreed = await rows(
                b, f"SELECT uri, state FROM agreements WHERE offer_uri = '{offer['id']}'"
            )
            assert agreed[0][1] == "agreed"
            assert not await answered(eve, join["id"], "Accept")  # not before paying
            await eve.post(
                {
                    "type": "EconomicEvent",
                    "action": "transfer",
                    "provider": eve.id,
                    "receiver": shop_id,
                    "fulfills": f"{agreed[0][0]}#primary",
                    "resourceConformsTo": story.spec,
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "50"},
                }
            )
            await until(lambda: answered(eve, join["id"], "Accept"))
            assert eve.id in await oce_here(a, "member", "list", "shop")

    asyncio.run(run())


async def _known_at(server: Process, activity_id: str) -> bool:
    found = await rows(
        server, f"SELECT 1 FROM coop_memberships WHERE activity_uri = '{activity_id}'"
    )
    return bool(found)


def _paused(process: subprocess.Popen[str], timeout: float = 120) -> str:
    """Read ``oce distribute``'s output until it says it paused (bounded)."""
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            seen += line
            if line.startswith("paused after"):
                return seen
            if not line and process.poll() is not None:
                break
    raise AssertionError(f"oce distribute never paused; it printed:\n{seen}")


def test_a_distribution_killed_midway_completes_once_when_run_again(trio: Three) -> None:
    """`oce distribute` is SIGKILLed after two of its three payments (one local, one to
    B) are committed; run again, it pays the third, and every ledger shows each
    recipient paid exactly once, the parts adding up to the income."""
    a, b, c = trio
    shares = {"kim": "20.00", "lev": "30.00", "max": "50.00"}

    async def prepare() -> tuple[dict[str, Agent], str, str]:
        async with httpx.AsyncClient(timeout=30) as http:
            mill = await agent(http, a, "mill", "--type", "organization", "--joining", "open")
            people = {
                "mill": mill,
                "kim": await agent(http, a, "kim"),
                "lev": await agent(http, b, "lev"),
                "max": await agent(http, c, "max"),
                "pay": await agent(http, a, "pay"),
            }
            for name in shares:
                await join_open(people[name], mill.id)
            spec = await spec_of(mill, "Mill credit")
            buckets = [
                {"name": name, "percentage": value[:-3], "distributionAgent": people[name].id}
                for name, value in shares.items()
            ]
            await oce_here(a, "member", "add", "mill", people["kim"].id, "--role", "coordinator")
            await Agent(http, mill.id, people["kim"].token).post(
                {
                    "type": "Create",
                    "object": {
                        "type": "ValueEquation",
                        "name": "thirds",
                        "percentageBehavior": "straight",
                        "buckets": buckets,
                    },
                }
            )
            income = await pay(people["pay"], mill.id, spec, "100.00")
            return people, spec, income

    people, spec, income = asyncio.run(prepare())
    command = [sys.executable, "-m", "instance.cli", "distribute", "mill",
               "--income", income, "--equation", "thirds"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), **a.env, "OCE_DISTRIBUTE_PAUSE_AFTER": "2"}
    killed = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        _paused(killed)
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait(10)
        assert killed.stdout is not None
        killed.stdout.close()
    states = a.query(
        "SELECT p.state, count(*) FROM coop_payments p JOIN coop_distributions d "
        f"ON p.distribution_id = d.id WHERE d.income_event = '{income}' GROUP BY p.state"
    )
    assert sorted(states) == [("paid", 2), ("pending", 1)]

    finished = a.cli("distribute", "mill", "--income", income, "--equation", "thirds")
    assert "distribution" in finished.stdout
    assert ": done" in finished.stdout
    again = a.cli("distribute", "mill", "--income", income, "--equation", "thirds", check=False)
    assert again.returncode == 1
    assert "distributed already" in again.stderr

    async def check() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            readers = {name: Agent(http, who.id, who.token) for name, who in people.items()}
            await balances_become(readers, spec, {**shares, "mill": "0.00", "pay": "-100.00"})
        # Exactly one payment event per recipient, on the payer's ledger and on each
        # recipient's own instance.
        for server, name in ((a, "kim"), (b, "lev"), (c, "max")):
            for ledger in [a] if server is a else [a, server]:
                paid = await rows(
                    ledger,
                    "SELECT resource_quantity FROM economic_events WHERE action = 'transfer' "
                    f"AND provider = '{people['mill'].id}' AND receiver = '{people[name].id}'",
                )
                assert len(paid) == 1, (ledger.name, name, paid)

    asyncio.run(check())


def _guild_equation(plan: str, process: str, design: str) -> dict[str, object]:
    """Three buckets, each proving a feature: equity-like claims shared in every
    distribution (filtered by plan), a `once` claim (filtered by process and dates), and
    oldest-first debt-like claims (filtered by resource specification)."""
    return {
        "type": "ValueEquation",
        "name": "guild",
        "percentageBehavior": "straight",
        "buckets": [
            {
                "name": "equity",
                "percentage": "10",
                "filters": {"action": ["work"], "plan": [plan]},
                "rules": [{"action": "work", "rate": "hours", "claimType": "equity-like"}],
            },
            {
                "name": "january",
                "percentage": "20",
                "filters": {
                    "action": ["work"],
                    "process": [process],
                    "after": "2026-01-01T00:00:00Z",
                    "before": "2026-02-01T00:00:00Z",
                },
                "rules": [{"action": "work", "rate": "hours * 10", "claimType": "once"}],
            },
            {
                "name": "oldest",
                "percentage": "70",
                "filters": {"action": ["work"], "resourceConformsTo": [design]},
                "rules": [
                    {
                        "action": "work",
                        "rate": "hours * 50",
                        "division": "oldest-first",
                        "claimType": "debt-like",
                    }
                ],
            },
        ],
    }


def test_value_equations_in_full_over_signed_http(trio: Three) -> None:
    """Two validators required (one on another instance), and an equation with
    equity-like, once and oldest-first claims and every kind of bucket filter, over
    two distributions paid to members on three instances. Numbers: yul (A) 10 h of
    design in January in the plan's process, wen (B) 6 h in February, xia (C) 4 h in
    March, and cleaning outside the process that no bucket takes: yul's 8 h in
    February, xia's 2 h in January (each filter leaves one of these out).

    First 1000.00: equity 100 by hours in the plan (yul 50, wen 30, xia 20);
    January 200 (yul's once claim, 10 x 10 = 100; 100 kept); oldest-first 700 by
    hours x 50 (yul 500 in full, wen 200 of 300, xia nothing yet).
    Second 1000.00: equity again (50, 30, 20); January nothing (once; 200 kept);
    oldest-first 700 (wen's last 100, xia's 200; 400 kept).
    """
    a, b, c = trio

    async def run() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            guild = await agent(http, a, "guild", "--type", "organization", "--joining", "open",
                                "--validators", "2")  # fmt: skip
            gus, val = await agent(http, a, "gus"), await agent(http, b, "val")
            yul, wen, xia = (await agent(http, a, "yul"), await agent(http, b, "wen"),
                             await agent(http, c, "xia"))  # fmt: skip
            buy = await agent(http, a, "buy")
            for member in (val, wen, xia):
                await join_open(member, guild.id)
            await oce_here(a, "member", "add", "guild", gus.id, "--role", "coordinator")
            await oce_here(a, "member", "add", "guild", val.id, "--role", "validator")
            await oce_here(a, "member", "add", "guild", yul.id)
            as_guild = Agent(http, guild.id, gus.token)
            money = await spec_of(as_guild, "Guild credit")
            design = await spec_of(as_guild, "Design")
            cleaning = await spec_of(as_guild, "Cleaning")
            plan = await as_guild.post(
                {"type": "Plan", "name": "New logo",
                 "planIncludes": [{"type": "Process", "name": "Design the logo"}]}
            )  # fmt: skip
            process = plan["object"]["planIncludes"]
            process_id = (process[0] if isinstance(process, list) else process)["id"]
            equation = _guild_equation(plan["object"]["id"], process_id, design)
            await as_guild.post({"type": "Create", "object": equation})

            async def work(who: Agent, hours: str, when: str, skill: str, inside: bool) -> str:
                event = {
                    "type": "EconomicEvent", "action": "work", "provider": who.id,
                    "receiver": guild.id, "inScopeOf": guild.id, "resourceConformsTo": skill,
                    "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": hours},
                    "hasPointInTime": when, "requestDistribution": True,
                    **({"inputOf": process_id} if inside else {}),
                }  # fmt: skip
                uri: str = (await who.post(event))["object"]["id"]
                await until(lambda: _state_at(a, uri, "pending"))
                return uri

            logged = {
                "yul": await work(yul, "10", "2026-01-10T09:00:00Z", design, True),
                "wen": await work(wen, "6", "2026-02-10T09:00:00Z", design, True),
                "xia": await work(xia, "4", "2026-03-10T09:00:00Z", design, True),
                "yul-cleaning": await work(yul, "8", "2026-02-15T09:00:00Z", cleaning, False),
                "xia-cleaning": await work(xia, "2", "2026-01-20T09:00:00Z", cleaning, False),
            }
            # One approval is not enough: wen's work stays pending, on A and on B.
            await gus.post({"type": "Accept", "object": logged["wen"]})
            await until(lambda: _validations_at(a, logged["wen"], 1))
            assert await _state_at(a, logged["wen"], "pending")
            assert await _state_at(b, logged["wen"], "pending")
            await val.post({"type": "Accept", "object": logged["wen"], "context": guild.id})
            await until(lambda: answered(wen, logged["wen"], "Accept"))
            assert await _state_at(b, logged["wen"], "approved")
            for name in ("yul", "xia", "yul-cleaning", "xia-cleaning"):
                await _approve_by_both(a, gus, val, guild.id, logged[name])
            await until(lambda: _state_at(c, logged["xia"], "approved"))  # xia's copy, on C

            readers = {"yul": yul, "wen": wen, "xia": xia, "guild": guild, "buy": buy}
            first = await pay(buy, guild.id, money, "1000.00")
            await oce_here(a, "distribute", "guild", "--income", first, "--equation", "guild")
            after_first = {"yul": "650.00", "wen": "230.00", "xia": "20.00"}
            await balances_become(readers, money, {**after_first, "guild": "100.00",
                                                   "buy": "-1000.00"})  # fmt: skip
            second = await pay(buy, guild.id, money, "1000.00")
            await oce_here(a, "distribute", "guild", "--income", second, "--equation", "guild")
            after_second = {"yul": "700.00", "wen": "360.00", "xia": "240.00"}
            await balances_become(readers, money, {**after_second, "guild": "700.00",
                                                   "buy": "-2000.00"})  # fmt: skip

    asyncio.run(run())


async def _approve_by_both(a: Process, gus: Agent, val: Agent, guild: str, event: str) -> None:
    await gus.post({"type": "Accept", "object": event})
    await until(lambda: _validations_at(a, event, 1))
    await val.post({"type": "Accept", "object": event, "context": guild})
    await until(lambda: _state_at(a, event, "approved"))


async def _state_at(server: Process, event: str, state: str) -> bool:
    found = await rows(server, f"SELECT state FROM coop_contributions WHERE event_uri = '{event}'")
    return bool(found) and found[0][0] == state


async def _validations_at(server: Process, event: str, count: int) -> bool:
    found = await rows(
        server,
        "SELECT count(*) FROM coop_validations v JOIN coop_contributions c "
        f"ON v.contribution_id = c.id WHERE c.event_uri = '{event}'",
    )
    return int(found[0][0]) == count


@pytest.mark.postgres
def test_the_worked_example_on_postgresql(
    tmp_path: Path, postgres_factory: PostgresFactory
) -> None:
    urls = (postgres_factory.new(), postgres_factory.new(), postgres_factory.new())
    with three_instances(urls, tmp_path) as (a, b, c):

        async def run() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                await run_story(a, b, c, http)

        asyncio.run(run())


def test_oce_demo_coop_prints_each_members_balance(tmp_path: Path) -> None:
    result = oce("demo", "coop", env={"OCE_DATA_DIR": str(tmp_path)}, timeout=600)
    assert result.returncode == 0, result.stderr
    for line in (
        "ann rejects cat's other entry, saying why",
        "running it again is refused",
        "  ann: 225.00 credits",
        "  dan: 438.90 credits",
        "  bob: 138.88 credits",
        "  cat: 97.22 credits",
        "  coop: 0.00 credits",
        "  cus: -900.00 credits",
    ):
        assert line in result.stdout
