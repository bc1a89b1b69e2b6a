"""``oce demo``: two instances on loopback run a whole exchange over signed HTTP.

The scenario talks to each instance only as an agent's client would (its outbox, its
inbox and the ids it can read, with its bearer token), so what it shows is what any
client can do. :class:`Scenario` is also what tests and ``docs/protocol.md`` run, with
the JSON of every step recorded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = ["BREAD", "MUTUAL_CREDIT", "Agent", "Scenario", "Step", "kg", "one", "run_demo"]

BREAD = "https://www.wikidata.org/wiki/Q7802"
MUTUAL_CREDIT = "https://w3id.org/oce/ns#MutualCredit"
AS_JSON = "application/activity+json"


def kg(value: str) -> dict[str, str]:
    return {"hasUnit": "kilogram", "hasNumericalValue": value}


def one(value: str) -> dict[str, str]:
    return {"hasUnit": "one", "hasNumericalValue": value}


def _hours(value: str) -> dict[str, str]:
    return {"hasUnit": "hour", "hasNumericalValue": value}


#: The end state both ledgers must show: Alice sold 10 kg of bread for 20 credits (Bob's
#: mutual-credit account is at -20), and Bob worked the 3 hours he promised.
EXPECTED = {
    "alice": {
        "credit": "20 one",
        "bread": "40 kilogram",
        "agreement": "finished",
        "hours of work logged": "3",
    },
    "bob": {
        "credit": "-20 one",
        "bread": "10 kilogram",
        "agreement": "finished",
        "hours of work logged": "3",
    },
}


@dataclass
class Agent:
    """An agent's client: the instance's URL, the agent's id and its token."""

    client: httpx.AsyncClient
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": AS_JSON}

    async def post(self, document: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(f"{self.id}/outbox", json=document, headers=self.headers)
        if response.status_code != 201:
            raise DemoError(f"{self.id} posting {document.get('type')}: {response.text}")
        created: dict[str, Any] = response.json()
        return created

    async def get(self, url: str) -> dict[str, Any]:
        response = await self.client.get(url, headers=self.headers)
        if response.status_code != 200:
            raise DemoError(f"GET {url}: {response.status_code} {response.text}")
        found: dict[str, Any] = response.json()
        return found

    async def items(self, collection: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page: str | None = (await self.get(f"{self.id}/{collection}"))["first"]
        while page:
            document = await self.get(page)
            found.extend(document.get("orderedItems", []))
            page = document.get("next")
        return found

    async def received(self, activity_id: str) -> dict[str, Any] | None:
        """The activity as it arrived in this agent's inbox, once it has."""
        for item in await self.items("inbox"):
            if item.get("id") == activity_id:
                return item
        return None


class DemoError(Exception):
    """A step did not do what it should; the message says which and why."""


@dataclass
class Step:
    """One step of the scenario: what was said, sent, and what the other side got."""

    title: str
    sent: dict[str, Any]
    arrived: dict[str, Any] | None = None


Settle = Callable[[Callable[[], Awaitable[bool]]], Awaitable[None]]


@dataclass
class Scenario:
    """The exchange: Alice (instance A) sells bread to Bob (instance B) for coop credit,
    then asks Bob for three hours of work, which he logs in two parts."""

    alice: Agent
    bob: Agent
    #: Waits until a condition holds (real instances: poll; in-process: run workers).
    settle: Settle
    say: Callable[[str], None] = print
    steps: list[Step] = field(default_factory=list)

    async def _arrives(self, agent: Agent, activity_id: str) -> dict[str, Any]:
        found: dict[str, Any] = {}

        async def check() -> bool:
            hit = await agent.received(activity_id)
            if hit is not None:
                found.update(hit)
            return hit is not None

        await self.settle(check)
        return found

    async def _step(
        self, title: str, agent: Agent, document: dict[str, Any], to: Agent | None = None
    ) -> dict[str, Any]:
        sent = await agent.post(document)
        self.say(f"  {len(self.steps) + 1:2}. {title}\n      {sent['type']} {sent['id']}")
        arrived = await self._arrives(to, sent["id"]) if to is not None else None
        if to is not None:
            self.say(f"      arrived in {to.id}'s inbox, signed and verified")
        self.steps.append(Step(title, sent, arrived))
        return sent

    async def run(self) -> dict[str, dict[str, str]]:
        alice, bob = self.alice, self.bob
        self.say(f"Alice is {alice.id}\nBob is {bob.id}\n")
        currency = (
            await self._step(
                "Alice's cooperative defines its currency, a mutual credit",
                alice,
                {
                    "type": "ResourceSpecification",
                    "name": "Coop credit",
                    "defaultUnitOfResource": "one",
                    "resourceClassifiedAs": [MUTUAL_CREDIT],
                },
            )
        )["object"]["id"]
        bread = (
            await self._step(
                "Alice records 50 kg of bread she baked (raise)",
                alice,
                {
                    "type": "EconomicEvent",
                    "action": "raise",
                    "receiver": alice.id,
                    "resourceConformsTo": BREAD,
                    "resourceQuantity": kg("50"),
                },
            )
        )["object"]["resourceInventoriedAs"]
        proposal = (
            await self._step(
                "Alice offers bread: 5 kg for 10 credits, 30 kg available",
                alice,
                {
                    "type": "Proposal",
                    "purpose": "offer",
                    "name": "Rye bread",
                    "content": "Baked this morning at the cooperative",
                    "unitBased": True,
                    "publishes": {
                        "type": "Intent",
                        "action": "transfer",
                        "resourceConformsTo": BREAD,
                        "resourceQuantity": kg("5"),
                        "availableQuantity": kg("30"),
                    },
                    "reciprocal": {
                        "type": "Intent",
                        "action": "transfer",
                        "resourceConformsTo": currency,
                        "resourceQuantity": one("10"),
                    },
                },
            )
        )["object"]["id"]
        offer = await self._step(
            "Bob offers to take 10 kg for 20 credits (Offer of an Agreement)",
            bob,
            {
                "type": "Offer",
                "object": {
                    "type": "Agreement",
                    "stipulates": {
                        "type": "Commitment",
                        "satisfies": f"{proposal}#primary",
                        "resourceQuantity": kg("10"),
                    },
                    "stipulatesReciprocal": {
                        "type": "Commitment",
                        "satisfies": f"{proposal}#reciprocal",
                        "resourceQuantity": one("20"),
                    },
                },
            },
            to=alice,
        )
        accept = await self._step(
            "Alice accepts: the agreement is finalized",
            alice,
            {"type": "Accept", "object": offer["id"]},
            to=bob,
        )
        agreement = accept["result"]
        await self._step(
            "Alice delivers 10 kg of bread (fulfils her commitment)",
            alice,
            {
                "type": "EconomicEvent",
                "action": "transfer",
                "resourceInventoriedAs": bread,
                "receiver": bob.id,
                "resourceQuantity": kg("10"),
                "fulfills": agreement["stipulates"]["id"],
                "realizationOf": agreement["id"],
            },
            to=bob,
        )
        await self._step(
            "Bob pays 20 credits (fulfils his commitment)",
            bob,
            {
                "type": "EconomicEvent",
                "action": "transfer",
                "receiver": alice.id,
                "resourceQuantity": one("20"),
                "fulfills": agreement["stipulatesReciprocal"]["id"],
                "reciprocalRealizationOf": agreement["id"],
            },
            to=alice,
        )
        receipt = await self._confirmation(agreement["id"])
        self.steps.append(
            Step("Alice's instance confirms the agreement (FEP-0837)", receipt, receipt)
        )
        self.say(
            f"  {len(self.steps):2}. Alice's instance confirms the agreement (FEP-0837)\n"
            f"      a {receipt['object']['name']} with context {agreement['id']} reached Bob"
        )

        work = (
            await self._step(
                "Alice asks Bob for 3 hours of work (a Commitment)",
                alice,
                {
                    "type": "Commitment",
                    "action": "work",
                    "provider": bob.id,
                    "receiver": alice.id,
                    "effortQuantity": _hours("3"),
                    "note": "Help with the Saturday market",
                },
                to=bob,
            )
        )["object"]["id"]
        await self._step(
            "Bob accepts the commitment", bob, {"type": "Accept", "object": work}, to=alice
        )
        for logged in ("2", "1"):
            await self._step(
                f"Bob logs {logged} hour{'s' if logged != '1' else ''} of work",
                bob,
                {
                    "type": "EconomicEvent",
                    "action": "work",
                    "receiver": alice.id,
                    "effortQuantity": _hours(logged),
                    "fulfills": work,
                },
                to=alice,
            )
        return await self.balances(agreement["id"], work)

    async def _confirmation(self, agreement: str) -> dict[str, Any]:
        found: dict[str, Any] = {}

        async def check() -> bool:
            for item in await self.bob.items("inbox"):
                obj = item.get("object")
                if isinstance(obj, dict) and obj.get("context") == agreement:
                    found.update(item)
                    return True
            return False

        await self.settle(check)
        return found

    async def balances(self, agreement: str, work: str) -> dict[str, dict[str, str]]:
        """What each side's ledger says at the end, as each client reads it."""
        result: dict[str, dict[str, str]] = {}
        for name, agent in (("alice", self.alice), ("bob", self.bob)):
            lines: dict[str, str] = {}
            for resource in await agent.items("resources"):
                quantity = resource["accountingQuantity"]
                kind = "bread" if resource.get("conformsTo") == BREAD else "credit"
                lines[kind] = f"{quantity['hasNumericalValue']} {quantity['hasUnit']}"

            async def record(item_id: str, collection: str, agent: Agent = agent) -> dict[str, Any]:
                return next(i for i in await agent.items(collection) if i["id"] == item_id)

            agreement_state = (await record(agreement, "agreements"))["oce:state"]
            hours = (await record(work, "commitments"))["fulfilledQuantity"]["hasNumericalValue"]
            lines["agreement"] = agreement_state
            lines["hours of work logged"] = hours
            result[name] = lines
        self.say("\nFinal balances, as each side's ledger reads:")
        for name, lines in result.items():
            self.say(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in lines.items()))
        if result != EXPECTED:
            raise DemoError(f"the ledgers do not read as expected: {result} != {EXPECTED}")
        return result


# Real instances ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Instance:
    def __init__(self, name: str, root: Path) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "OCE_BASE_URL": self.base_url,
            "OCE_PORT": str(self.port),
            "OCE_HOST": "127.0.0.1",
            "OCE_DATA_DIR": str(root / name),
            "OCE_ALLOW_PRIVATE_NETWORK": "1",
            "OCE_INSTANCE_NAME": f"demo {name}",
        }
        self.env.pop("OCE_DATABASE_URL", None)
        self.env.pop("OCE_CONFIG", None)
        self.log = root / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def oce(self, *args: str) -> str:
        # Our own CLI, run by the interpreter running us: no untrusted input.
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "instance.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise DemoError(f"oce {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout.strip()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "instance.cli", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DemoError(f"the instance at {self.base_url} exited; see {self.log}")
            try:
                if httpx.get(f"{self.base_url}/nodeinfo/2.1", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise DemoError(f"the instance at {self.base_url} did not start; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


#: How long a step may take to show on the other instance before the demo gives up.
STEP_LIMIT_S = 30.0


async def _poll(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + STEP_LIMIT_S
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise DemoError(f"nothing arrived within {STEP_LIMIT_S:g} s")


def run_demo(say: Callable[[str], None] = print) -> dict[str, dict[str, str]]:
    """Start two instances in a temporary folder, run the scenario, stop them."""
    with tempfile.TemporaryDirectory(prefix="oce-demo-") as folder:
        root = Path(folder)
        a, b = _Instance("a", root), _Instance("b", root)
        try:
            say("Starting two instances on loopback (SQLite in a temporary folder)…")
            a.start()
            b.start()
            say(f"  instance A: {a.base_url}\n  instance B: {b.base_url}")
            a.oce("agent", "create", "alice", "--name", "Alice (bakery cooperative)")
            b.oce("agent", "create", "bob", "--name", "Bob")
            tokens = (a.oce("token", "create", "alice"), b.oce("token", "create", "bob"))
            say("Running the exchange over signed HTTP:\n")

            async def scenario() -> dict[str, dict[str, str]]:
                async with httpx.AsyncClient(timeout=30) as http:
                    alice = Agent(http, f"{a.base_url}/agents/alice", tokens[0])
                    bob = Agent(http, f"{b.base_url}/agents/bob", tokens[1])
                    return await Scenario(alice, bob, _poll, say).run()

            return asyncio.run(scenario())
        finally:
            a.stop()
            b.stop()
