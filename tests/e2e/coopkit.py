"""Helpers of the cooperative end-to-end tests (tests/e2e/test_coop.py): running an
``oce`` command's handler in the test process, agents with tokens, polling a ledger."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from contextlib import redirect_stdout
from decimal import Decimal
from typing import Any

import httpx

from instance.cli import _parser
from instance.demo import Agent, _poll
from instance.problems import Problem
from instance.settings import load_settings
from tests.processes import Process

# One stdout for the whole process: commands run here one at a time.
_OUTPUT_TURN = asyncio.Lock()


async def oce_here(server: Process, *argv: str) -> str:
    """What ``oce ARGV`` prints against ``server``'s database, run by the same command
    handler in this process: starting Python for each command costs several seconds on
    the shared machine, and these tests run dozens. A refusal raises :class:`Problem`.
    ``oce distribute`` itself runs as a real process in the crash test."""
    args = _parser().parse_args(argv)
    settings = load_settings(server.env)
    buffer = io.StringIO()
    async with _OUTPUT_TURN:
        with redirect_stdout(buffer):
            status = await args.handler(settings, args)
    assert status == 0, buffer.getvalue()
    return buffer.getvalue()


async def agent(http: httpx.AsyncClient, server: Process, name: str, *create: str) -> Agent:
    """Create ``name`` on ``server`` (``oce agent create NAME CREATE…``) with a token."""
    await oce_here(server, "agent", "create", name, *create)
    token = (await oce_here(server, "token", "create", name)).strip()
    return Agent(http, f"{server.base_url}/agents/{name}", token)


async def refusal(server: Process, *argv: str) -> str | None:
    """None when the command ran, else the refusal's message."""
    try:
        await oce_here(server, *argv)
    except Problem as exc:
        return exc.detail
    return None


async def balance(agent: Agent, spec: str) -> Decimal:
    """The agent's account in ``spec``, as its own instance's ledger reads it."""
    for resource in await agent.items("resources"):
        if resource.get("conformsTo") == spec:
            return Decimal(resource["accountingQuantity"]["hasNumericalValue"])
    return Decimal(0)


async def balances_become(agents: dict[str, Agent], spec: str, expected: dict[str, str]) -> None:
    """Poll (bounded) until every agent's balance is the expected one."""
    seen: dict[str, Decimal] = {}

    async def check() -> bool:
        for name, who in agents.items():
            seen[name] = await balance(who, spec)
        return seen == {name: Decimal(value) for name, value in expected.items()}

    try:
        await _poll(check)
    except Exception:
        raise AssertionError(f"the ledgers read {seen}, not {expected}") from None


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    await _poll(check)


async def answered(agent: Agent, about: str, kind: str, reason: str = "") -> bool:
    """Whether ``agent``'s inbox holds ``kind`` (Accept/Reject) of ``about`` saying ``reason``."""
    for item in await agent.items("inbox"):
        target = item.get("object")
        target_id = target.get("id") if isinstance(target, dict) else target
        if item.get("type") == kind and target_id == about:
            return reason in (item.get("content") or "")
    return False


async def rows(server: Process, sql: str) -> list[tuple[Any, ...]]:
    return await asyncio.to_thread(server.query, sql)


async def spec_of(org: Agent, name: str) -> str:
    """A mutual-credit currency the organization defines (its id)."""
    sent = await org.post(
        {
            "type": "ResourceSpecification",
            "name": name,
            "defaultUnitOfResource": "one",
            "resourceClassifiedAs": ["https://w3id.org/oce/ns#MutualCredit"],
        }
    )
    spec: str = sent["object"]["id"]
    return spec


async def pay(payer: Agent, receiver: str, spec: str, amount: str) -> str:
    """A transfer of ``amount`` from ``payer`` to ``receiver``; the event's id."""
    sent = await payer.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "provider": payer.id,
            "receiver": receiver,
            "resourceConformsTo": spec,
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": amount},
        }
    )
    event: str = sent["object"]["id"]
    return event


async def join_open(member: Agent, org: str) -> None:
    """``member`` joins the open organization ``org`` and hears it accepted."""
    join = await member.post({"type": "Join", "object": org})
    await until(lambda: answered(member, join["id"], "Accept"))
