"""``oce demo coop``: a cooperative on one instance with members on three, over signed
HTTP. :class:`CoopStory` talks to each instance as agents' clients would (outboxes,
inboxes, collections); the few operator steps (making a coordinator, running a
distribution) are hooks, so tests run the same story in-process and on real processes,
and docs/cooperatives.md shows its JSON.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from instance.demo import MUTUAL_CREDIT, Agent, DemoError, Settle, Step, _Instance, _poll, one

__all__ = ["EXPECTED_BALANCES", "CoopStory", "Hooks", "run_coop_demo"]

#: The worked example (docs/cooperatives.md): what every ledger reads at the end.
EXPECTED_BALANCES = {
    "ann": Decimal("225.00"),
    "dan": Decimal("438.90"),
    "bob": Decimal("138.88"),
    "cat": Decimal("97.22"),
    "coop": Decimal("0.00"),
    "cus": Decimal("-900.00"),
}

EQUATION: dict[str, Any] = {
    "type": "ValueEquation",
    "name": "default",
    "percentageBehavior": "straight",
    "buckets": [
        {"name": "founder", "percentage": "25"},  # distributionAgent: ann, filled in
        {
            "name": "work",
            "percentage": "75",
            "filters": {"action": ["work"]},
            "rules": [
                {
                    "action": "work",
                    "rate": "hours * 30",
                    "division": "proportional",
                    "claimType": "debt-like",
                }
            ],
        },
    ],
}


def hours(value: str) -> dict[str, str]:
    return {"hasUnit": "hour", "hasNumericalValue": value}


@dataclass
class Hooks:
    """What an operator does: make someone a coordinator, run a distribution (returning
    None when it ran, or the refusal's message)."""

    make_coordinator: Callable[[str], Awaitable[None]]
    distribute: Callable[[str, str], Awaitable[str | None]]


@dataclass
class CoopStory:
    org: Agent
    ann: Agent
    dan: Agent
    bob: Agent
    cat: Agent
    cus: Agent
    hooks: Hooks
    settle: Settle
    say: Callable[[str], None] = print
    steps: list[Step] = field(default_factory=list)
    #: The cooperative's currency (its ResourceSpecification), once defined.
    spec: str = ""

    def _as_org(self, coordinator: Agent) -> Agent:
        """The coordinator's token, posting to the organization's outbox."""
        return Agent(coordinator.client, self.org.id, coordinator.token)

    async def _post(self, title: str, agent: Agent, document: dict[str, Any]) -> dict[str, Any]:
        sent = await agent.post(document)
        self.say(f"  {len(self.steps) + 1:2}. {title}\n      {sent['type']} {sent['id']}")
        self.steps.append(Step(title, sent))
        return sent

    async def _answer(self, agent: Agent, about: str, kind: str) -> dict[str, Any]:
        """Wait for an ``kind`` (Accept/Reject) of ``about`` in ``agent``'s inbox."""
        found: dict[str, Any] = {}

        async def check() -> bool:
            for item in await agent.items("inbox"):
                target = item.get("object")
                target_id = target.get("id") if isinstance(target, dict) else target
                if item.get("type") == kind and target_id == about:
                    found.update(item)
                    return True
            return False

        await self.settle(check)
        self.steps[-1].arrived = found
        return found

    async def _arrived(self, agent: Agent, activity_id: str) -> None:
        async def check() -> bool:
            return await agent.received(activity_id) is not None

        await self.settle(check)

    async def balance(self, agent: Agent, spec: str) -> Decimal:
        for resource in await agent.items("resources"):
            if resource.get("conformsTo") == spec:
                return Decimal(resource["accountingQuantity"]["hasNumericalValue"])
        return Decimal(0)

    async def _work(self, member: Agent, value: str) -> dict[str, Any]:
        return await self._post(
            f"{member.id.rsplit('/', 1)[-1]} logs {value} hours of work for the cooperative",
            member,
            {
                "type": "EconomicEvent",
                "action": "work",
                "provider": member.id,
                "receiver": self.org.id,
                "inScopeOf": self.org.id,
                "effortQuantity": hours(value),
                "requestDistribution": True,
            },
        )

    async def _income(self, value: str, spec: str) -> str:
        sent = await self._post(
            f"a customer pays the cooperative {value} credits (income)",
            self.cus,
            {
                "type": "EconomicEvent",
                "action": "transfer",
                "provider": self.cus.id,
                "receiver": self.org.id,
                "resourceConformsTo": spec,
                "resourceQuantity": one(value),
            },
        )
        income: str = sent["object"]["id"]
        return income

    async def run(self) -> dict[str, Decimal]:
        """The worked example, step by step; each member's balance at the end."""
        org = self.org
        await self.hooks.make_coordinator(self.ann.id)
        self.say(f"The cooperative is {org.id}; ann coordinates it.\n")
        spec = (
            await self._post(
                "the cooperative defines its currency, a mutual credit",
                org,
                {
                    "type": "ResourceSpecification",
                    "name": "Coop credit",
                    "defaultUnitOfResource": "one",
                    "resourceClassifiedAs": [MUTUAL_CREDIT],
                },
            )
        )["object"]["id"]
        self.spec = spec
        for member in (self.dan, self.bob, self.cat):
            join = await self._post(
                f"{member.id.rsplit('/', 1)[-1]} asks to join (the cooperative is open)",
                member,
                {"type": "Join", "object": org.id},
            )
            await self._answer(member, join["id"], "Accept")
        equation = {**EQUATION, "buckets": [dict(b) for b in EQUATION["buckets"]]}
        equation["buckets"][0]["distributionAgent"] = self.ann.id
        await self._post(
            "ann, acting for the cooperative, defines its value equation",
            self._as_org(self.ann),
            {"type": "Create", "object": equation},
        )

        dan_work = (await self._work(self.dan, "20"))["object"]["id"]
        await self._post(
            "ann validates dan's work", self.ann, {"type": "Accept", "object": dan_work}
        )
        await self._answer(self.dan, dan_work, "Accept")
        first = await self._income("400.00", spec)
        self.say("  -> distribution of the first income")
        if (refusal := await self.hooks.distribute(first, "default")) is not None:
            raise DemoError(f"the first distribution was refused: {refusal}")

        bob_work = await self._work(self.bob, "10")
        cat_work = await self._work(self.cat, "7")
        cat_extra = await self._work(self.cat, "5")
        for sent in (bob_work, cat_work, cat_extra):
            await self._arrived(org, sent["id"])
        for member, sent in ((self.bob, bob_work), (self.cat, cat_work)):
            event = sent["object"]["id"]
            await self._post(
                f"ann validates {member.id.rsplit('/', 1)[-1]}'s work",
                self.ann,
                {"type": "Accept", "object": event},
            )
            await self._answer(member, event, "Accept")
        extra = cat_extra["object"]["id"]
        await self._post(
            "ann rejects cat's other entry, saying why",
            self.ann,
            {"type": "Reject", "object": extra, "content": "already counted in the 7 hours"},
        )
        await self._answer(self.cat, extra, "Reject")

        second = await self._income("500.00", spec)
        self.say("  -> distribution of the second income")
        if (refusal := await self.hooks.distribute(second, "default")) is not None:
            raise DemoError(f"the second distribution was refused: {refusal}")
        again = await self.hooks.distribute(second, "default")
        if again is None:
            raise DemoError("the same income was distributed twice")
        self.say(f"  -> running it again is refused: {again}")

        agents = {
            "ann": self.ann, "dan": self.dan, "bob": self.bob,
            "cat": self.cat, "coop": org, "cus": self.cus,
        }  # fmt: skip
        balances: dict[str, Decimal] = {}

        async def paid() -> bool:
            for name, agent in agents.items():
                balances[name] = await self.balance(agent, spec)
            return balances == EXPECTED_BALANCES

        try:
            await self.settle(paid)
        except DemoError:
            raise DemoError(f"the ledgers read {balances}, not {EXPECTED_BALANCES}") from None
        for item in await self.bob.items("inbox"):
            paid_event = item.get("object")
            if (
                item.get("type") == "Create"
                and isinstance(paid_event, dict)
                and paid_event.get("provider") == org.id
                and paid_event.get("action") == "transfer"
            ):
                self.steps.append(Step("the cooperative pays bob (as bob's instance got it)", item))
                break
        self.say("\nEach member's balance, as their own instance's ledger reads it:")
        for name, value in balances.items():
            self.say(f"  {name}: {value.quantize(Decimal('0.01'))} credits")
        return balances


def run_coop_demo(say: Callable[[str], None] = print) -> dict[str, Decimal]:
    """Start three instances in a temporary folder, run the story, stop them."""
    with tempfile.TemporaryDirectory(prefix="oce-coop-") as folder:
        root = Path(folder)
        a, b, c = _Instance("a", root), _Instance("b", root), _Instance("c", root)
        try:
            say("Starting three instances on loopback (SQLite in a temporary folder)…")
            for instance in (a, b, c):
                instance.start()
            say(f"  A: {a.base_url}\n  B: {b.base_url}\n  C: {c.base_url}")
            a.oce("agent", "create", "coop", "--type", "organization", "--joining", "open")
            names = {"ann": a, "dan": a, "cus": a, "bob": b, "cat": c}
            for name, instance in names.items():
                instance.oce("agent", "create", name)
            tokens = {name: inst.oce("token", "create", name) for name, inst in names.items()}
            tokens["coop"] = a.oce("token", "create", "coop")

            async def make_coordinator(person: str) -> None:
                await asyncio.to_thread(
                    a.oce, "member", "add", "coop", person, "--role", "coordinator"
                )

            async def distribute(income: str, equation: str) -> str | None:
                try:
                    await asyncio.to_thread(
                        a.oce, "distribute", "coop", "--income", income, "--equation", equation
                    )
                except DemoError as exc:
                    return str(exc)
                return None

            async def story() -> dict[str, Decimal]:
                async with httpx.AsyncClient(timeout=30) as http:

                    def agent(name: str, instance: _Instance) -> Agent:
                        return Agent(http, f"{instance.base_url}/agents/{name}", tokens[name])

                    return await CoopStory(
                        agent("coop", a), agent("ann", a), agent("dan", a), agent("bob", b),
                        agent("cat", c), agent("cus", a), Hooks(make_coordinator, distribute),
                        _poll, say,
                    ).run()  # fmt: skip

            return asyncio.run(story())
        finally:
            for instance in (a, b, c):
                instance.stop()
