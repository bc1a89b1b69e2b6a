"""Organizations in the Agent app (SQLite and PostgreSQL, in-process): the page each one
shows to members and to others, joining, answering, inviting, validating and leaving
through the forms, switching the session to act for an organization, and distributing
an income from the browser.

The setup (an organization, roles, a currency, logged work, an income) is done with the
same domain functions the commands use; everything the test is about is done by posting
the forms a browser posts, with the token each page carries.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from instance.agents import create_agent, require_agent
from instance.coop.defining import save_equation
from instance.coop.memberships import add_member, change_settings
from instance.coopdemo import EQUATION
from instance.ledger.resources import MUTUAL_CREDIT
from instance.outbox.c2s import post_to_outbox
from instance.store.models import (
    CoopAct,
    CoopContribution,
    CoopDistribution,
    CoopMembership,
    EconomicResource,
    Proposal,
    StoredObject,
    WebSession,
)
from tests.exchange.conftest import Pair
from tests.harness import Running
from tests.web.signing import add_person, form_token, sign_in

HTML = {"Accept": "text/html"}
ORG = "https://a.test/agents/bakery"


def browser(site: Running) -> httpx.AsyncClient:
    """Another browser (its own cookies) on the same instance."""
    return httpx.AsyncClient(transport=site.client._transport, base_url="https://a.test")


def text_of(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


async def post_as(site: Running, username: str, document: dict[str, Any]) -> dict[str, Any]:
    """Post as a client would (setup steps the test is not about)."""
    async with site.services.db.read() as session:
        agent = await require_agent(session, username)
    stored = await post_to_outbox(site.services, agent, document)
    await site.settle()
    body: dict[str, Any] = json.loads(stored.body)
    return body


async def form(
    client: httpx.AsyncClient, page: str, target: str, /, **fields: str
) -> httpx.Response:
    """Post the form at ``target`` with the token of ``page``, as a browser would."""
    token = form_token((await client.get(page, headers=HTML)).text)
    return await client.post(target, data={"csrf": token, **fields})


async def make_bakery(site: Running, joining: str = "moderated") -> None:
    """The bakery, coordinated by alice (who also validates); bob is a member."""
    async with site.services.db.write() as session:
        org = await create_agent(session, "bakery", name="Bakery", kind="organization")
        await change_settings(session, org, joining=joining)
        urls = site.services.urls
        await add_member(session, urls, org, urls.actor("alice"), ["coordinator", "validator"])
        await add_member(session, urls, org, urls.actor("bob"))


async def membership(site: Running, member: str) -> tuple[str, str] | None:
    async with site.services.db.read() as session:
        row = await session.scalar(
            select(CoopMembership).where(
                CoopMembership.organization == ORG,
                CoopMembership.member == site.services.urls.actor(member),
            )
        )
    return None if row is None else (row.state, row.reason)


async def contribution(site: Running, event: str) -> tuple[str, str]:
    async with site.services.db.read() as session:
        row = await session.scalar(
            select(CoopContribution).where(CoopContribution.event_uri == event)
        )
    assert row is not None
    return row.state, row.reason


def work(person: str, hours: str) -> dict[str, Any]:
    return {
        "type": "EconomicEvent",
        "action": "work",
        "provider": f"https://a.test/agents/{person}",
        "receiver": ORG,
        "inScopeOf": ORG,
        "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": hours},
        "requestDistribution": True,
    }


async def test_joining_answering_validating_and_leaving_through_the_org_page(
    site: Running,
) -> None:
    await add_person(site, "carol")
    await add_person(site, "dora")
    await make_bakery(site)
    bobs = (await post_as(site, "bob", work("bob", "10")))["object"]["id"]
    alices = (await post_as(site, "alice", work("alice", "4")))["object"]["id"]
    carol, bob, alice = (browser(site) for _ in range(3))
    async with carol, bob, alice:
        for client, name in ((carol, "carol"), (bob, "bob"), (alice, "alice")):
            assert (await sign_in(client, name)).status_code == 303

        # A stranger sees the name and how to join, nothing of the members' business.
        page = await carol.get("/app/orgs/bakery", headers=HTML)
        assert page.status_code == 200
        assert "Ask to join" in page.text
        assert "Members" not in page.text
        assert "10 h" not in text_of(page.text)
        asked = await form(carol, "/app/orgs/bakery", "/app/orgs/join", org=ORG)
        assert asked.status_code == 303
        assert await membership(site, "carol") == ("pending", "")
        # dora asks by name from the list page
        async with browser(site) as dora:
            await sign_in(dora, "dora")
            unknown = await form(dora, "/app/orgs", "/app/orgs/join", org="nobody-here")
            assert unknown.status_code == 404
            assert 'id="org-error"' in unknown.text
            await form(dora, "/app/orgs", "/app/orgs/join", org="bakery")
        assert await membership(site, "dora") == ("pending", "")

        # A member reads the page but answers nothing and validates nothing.
        members_page = await bob.get("/app/orgs/bakery", headers=HTML)
        assert "Members" in members_page.text
        assert "Requests to join" not in members_page.text
        assert 'action="/app/orgs/bakery/verdict"' not in members_page.text
        not_validator = await form(
            bob, "/app/orgs/bakery", "/app/orgs/bakery/verdict", event=alices, decision="accept"
        )
        assert not_validator.status_code == 403
        assert "is not a validator" in not_validator.text
        not_coordinator = await form(
            bob,
            "/app/orgs/bakery",
            "/app/orgs/bakery/answer",
            join=await join_of(site, "carol"),
            decision="accept",
        )
        assert not_coordinator.status_code == 403
        assert await membership(site, "carol") == ("pending", "")

        # The coordinator answers: a rejection needs a reason, shown next to its field.
        page = await alice.get("/app/orgs/bakery", headers=HTML)
        assert "Requests to join" in page.text
        assert "carol" in page.text
        carol_join = await join_of(site, "carol")
        no_reason = await form(
            alice, "/app/orgs/bakery", "/app/orgs/bakery/answer", join=carol_join, decision="reject"
        )
        assert no_reason.status_code == 400
        assert re.search(r'aria-describedby="join-reason-\d+-error"', no_reason.text)
        assert await membership(site, "carol") == ("pending", "")
        rejected = await form(
            alice,
            "/app/orgs/bakery",
            "/app/orgs/bakery/answer",
            join=carol_join,
            decision="reject",
            reason="we are full this winter",
        )
        assert rejected.status_code == 303
        assert await membership(site, "carol") == ("rejected", "we are full this winter")
        await form(
            alice,
            "/app/orgs/bakery",
            "/app/orgs/bakery/answer",
            join=await join_of(site, "dora"),
            decision="accept",
        )
        assert await membership(site, "dora") == ("accepted", "")
        carol_sees = text_of((await carol.get("/app/orgs/bakery", headers=HTML)).text)
        assert "rejected : we are full this winter" in carol_sees

        # The organization's records keep which person answered for it.
        async with site.services.db.read() as session:
            acts = (await session.scalars(select(CoopAct))).all()
        assert len(acts) == 2
        alice_id = await agent_id(site, "alice")
        assert {a.person_agent_id for a in acts} == {alice_id}

        # Invite carol (by name); she accepts by joining.
        invited = await form(alice, "/app/orgs/bakery", "/app/orgs/bakery/invite", person="carol")
        assert invited.status_code == 303
        assert (await membership(site, "carol") or ("",))[0] == "invited"
        bad = await form(alice, "/app/orgs/bakery", "/app/orgs/bakery/invite", person="@x")
        assert bad.status_code in (400, 404, 502)
        assert 'id="person-error"' in bad.text

        # Validation: never one's own; a rejection says why; an approval counts.
        page = await alice.get("/app/orgs/bakery", headers=HTML)
        assert "yours: others validate it" in page.text
        own = await form(
            alice, "/app/orgs/bakery", "/app/orgs/bakery/verdict", event=alices, decision="accept"
        )
        assert own.status_code == 403
        assert "never validates their own" in own.text
        assert await contribution(site, alices) == ("pending", "")
        why = await form(
            alice, "/app/orgs/bakery", "/app/orgs/bakery/verdict", event=bobs, decision="reject"
        )
        assert why.status_code == 400
        assert re.search(r'id="verdict-reason-\d+-error"', why.text)
        approved = await form(
            alice, "/app/orgs/bakery", "/app/orgs/bakery/verdict", event=bobs, decision="accept"
        )
        assert approved.status_code == 303
        assert await contribution(site, bobs) == ("approved", "")
        bob_sees = text_of((await bob.get("/app/orgs/bakery", headers=HTML)).text)
        assert "Decided" in bob_sees
        assert "approved" in bob_sees

        # Leaving.
        left = await form(bob, "/app/orgs", "/app/orgs/leave", org=ORG)
        assert left.status_code == 303
        assert await membership(site, "bob") == ("left", "")
        gone = await bob.get("/app/orgs/bakery", headers=HTML)
        assert "Members" not in gone.text

        # No token, no change.
        forged = await bob.post("/app/orgs/join", data={"org": ORG})
        assert forged.status_code == 403
        assert await membership(site, "bob") == ("left", "")


async def join_of(site: Running, member: str) -> str:
    async with site.services.db.read() as session:
        found = await session.scalar(
            select(CoopMembership.activity_uri).where(
                CoopMembership.member == site.services.urls.actor(member)
            )
        )
    assert found
    return str(found)


async def agent_id(site: Running, username: str) -> int:
    async with site.services.db.read() as session:
        return int((await require_agent(session, username)).id)


async def count(site: Running, model: Any, *where: Any) -> int:
    async with site.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_coordinator_switches_to_the_organization_and_no_one_else_can(
    site: Running,
) -> None:
    await make_bakery(site)
    alice, bob = site.client, browser(site)
    async with bob:
        await sign_in(alice, "alice")
        await sign_in(bob, "bob")
        # bob sees no switcher and cannot switch, even by posting the form himself.
        assert 'action="/app/switch"' not in (await bob.get("/dashboard", headers=HTML)).text
        as_org = StoredObject.actor == ORG
        assert await count(site, StoredObject, as_org) == 0
        refused = await form(bob, "/dashboard", "/app/switch", **{"as": "bakery"})
        assert refused.status_code == 403
        assert "bob is not a coordinator of bakery" in refused.text
        # A hand-made switch cookie grants nothing: bob still publishes as bob.
        assert "oce_acting" not in refused.headers.get("set-cookie", "")
        bob_id = await agent_id(site, "bob")
        async with site.services.db.read() as session:
            bobs_session = await session.scalar(
                select(WebSession.id).where(WebSession.agent_id == bob_id)
            )
        bob.cookies.set("oce_acting", f"{bobs_session}.bakery", domain="a.test")
        published = await form(
            bob,
            "/app/publish",
            "/app/publish",
            purpose="offer",
            name="Bob's bread",
            action="transfer",
            quantity="1",
            unit="kg",
        )
        assert published.status_code == 303, published.text
        assert await count(site, StoredObject, as_org) == 0  # nothing published as the bakery
        assert await count(site, StoredObject, StoredObject.actor.endswith("/bob")) > 0
        assert await count(site, Proposal, Proposal.proposer == ORG) == 0
        assert await count(site, CoopAct) == 0

        # alice switches: the header says so, the dashboard is the bakery's, and what she
        # publishes is the bakery's, with her name in its records.
        page = (await alice.get("/dashboard", headers=HTML)).text
        assert 'action="/app/switch"' in page
        assert '<option value="bakery">' in page
        switched = await form(alice, "/dashboard", "/app/switch", **{"as": "bakery"})
        assert switched.status_code == 303
        dashboard = await alice.get("/dashboard", headers=HTML)
        assert "<h1>Bakery</h1>" in dashboard.text
        assert "You are acting as Bakery" in dashboard.text
        offered = await form(
            alice,
            "/app/publish",
            "/app/publish",
            purpose="offer",
            name="Sourdough",
            action="transfer",
            quantity="2",
            unit="kg",
        )
        assert offered.status_code == 303, offered.text
        assert await count(site, Proposal, Proposal.proposer == ORG) == 1
        async with site.services.db.read() as session:
            act = await session.scalar(select(CoopAct))
        assert act is not None
        assert act.person_agent_id == await agent_id(site, "alice")

        # Switching back is the empty choice.
        back = await form(alice, "/dashboard", "/app/switch", **{"as": ""})
        assert back.status_code == 303
        assert "<h1>Alice</h1>" in (await alice.get("/dashboard", headers=HTML)).text

        # Losing the role ends a switch at once.
        await form(alice, "/dashboard", "/app/switch", **{"as": "bakery"})
        assert "<h1>Bakery</h1>" in (await alice.get("/dashboard", headers=HTML)).text
        async with site.services.db.write() as session:
            org = await require_agent(session, "bakery")
            await add_member(session, site.services.urls, org, site.services.urls.actor("alice"))
        after = (await alice.get("/dashboard", headers=HTML)).text
        assert "<h1>Alice</h1>" in after
        assert "You are acting as" not in after
        assert 'action="/app/switch"' not in after


async def test_a_distribution_is_previewed_run_and_never_paid_twice(site: Running) -> None:
    await add_person(site, "cus")
    await make_bakery(site, joining="open")
    spec = (
        await post_as(
            site,
            "bakery",
            {
                "type": "ResourceSpecification",
                "name": "Coop credit",
                "defaultUnitOfResource": "one",
                "resourceClassifiedAs": [MUTUAL_CREDIT],
            },
        )
    )["object"]["id"]
    equation = {**EQUATION, "buckets": [dict(b) for b in EQUATION["buckets"]]}
    equation["buckets"][0]["distributionAgent"] = site.services.urls.actor("alice")
    async with site.services.db.write() as session:
        org = await require_agent(session, "bakery")
        await save_equation(session, site.services.urls, org, equation, replace=False)
    bobs = (await post_as(site, "bob", work("bob", "7")))["object"]["id"]
    await post_as(site, "alice", {"type": "Accept", "object": bobs})
    income = (
        await post_as(
            site,
            "cus",
            {
                "type": "EconomicEvent",
                "action": "transfer",
                "provider": site.services.urls.actor("cus"),
                "receiver": ORG,
                "resourceConformsTo": spec,
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "100.00"},
            },
        )
    )["object"]["id"]
    alice, bob = site.client, browser(site)
    async with bob:
        await sign_in(alice, "alice")
        await sign_in(bob, "bob")
        assert (await bob.get("/app/orgs/bakery/distribute", headers=HTML)).status_code == 403
        where = f"/app/orgs/bakery/distribute?income={quote(income, safe='')}&equation=default"
        page = await alice.get(where, headers=HTML)
        assert page.status_code == 200
        text = text_of(page.text)
        # 25 to alice's fixed bucket; 75 of work: bob's 7 h at 30 = 210 owed, 75 paid.
        assert "founder alice 25.00" in text
        assert "work bob debt-like 75.00 75" in text
        missing = await alice.get(
            f"/app/orgs/bakery/distribute?income={quote(income, safe='')}&equation=nope",
            headers=HTML,
        )
        assert missing.status_code == 404
        assert 'id="equation-error"' in missing.text
        refused = await form(
            bob, "/app/orgs/bakery", "/app/orgs/bakery/distribute/run",
            income=income, equation="default",
        )  # fmt: skip
        assert refused.status_code == 403
        assert await count(site, CoopDistribution) == 0

        ran = await form(
            alice, where, "/app/orgs/bakery/distribute/run", income=income, equation="default"
        )
        assert ran.status_code == 303
        done = text_of((await alice.get(ran.headers["location"], headers=HTML)).text)
        assert "Distributed." in done
        assert "bob 75.00 paid" in done
        again = await form(
            alice, where, "/app/orgs/bakery/distribute/run", income=income, equation="default"
        )
        assert again.status_code == 409
        assert "distributed already" in again.text
        revisit = text_of((await alice.get(where, headers=HTML)).text)
        assert "This income was distributed already" in revisit
        assert await count(site, CoopDistribution) == 1
        bob_id = await agent_id(site, "bob")
        async with site.services.db.read() as session:
            held = await session.scalar(
                select(EconomicResource.accounting_quantity).where(
                    EconomicResource.agent_id == bob_id
                )
            )
        assert held == Decimal("75.00")


async def test_a_person_on_another_instance_joins_by_handle_and_leaves(pair: Pair) -> None:
    async with pair.a.services.db.write() as session:
        org = await create_agent(session, "bakery", name="Bakery", kind="organization")
        await change_settings(session, org, joining="open")
    bob = pair.b.client
    await sign_in(bob, "bob")
    unknown = await form(bob, "/app/orgs", "/app/orgs/join", org="@nobody@a.test")
    assert unknown.status_code == 502
    assert 'id="org-error"' in unknown.text
    asked = await form(bob, "/app/orgs", "/app/orgs/join", org="@bakery@a.test")
    assert asked.status_code == 303
    await pair.settle()
    # The bakery (open) accepted; bob's instance was told, and his page says so.
    listed = text_of((await bob.get("/app/orgs", headers=HTML)).text)
    assert "bakery@a.test accepted member" in listed
    left = await form(bob, "/app/orgs", "/app/orgs/leave", org=ORG)
    assert left.status_code == 303
    await pair.settle()
    async with pair.a.services.db.read() as session:
        state = await session.scalar(
            select(CoopMembership.state).where(CoopMembership.member == pair.bob.id)
        )
    assert state == "left"
