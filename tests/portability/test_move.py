"""Moving an agent: exported from a.test, imported on c.test, then the old actor sends
``Move``. A Mastodon-shaped follower receives it and re-follows, as Mastodon does; an oce
follower on b.test re-follows by itself, and b.test's open commitments with the old
actor name the new one."""

from __future__ import annotations

import io

from sqlalchemy import select

from instance.agents import require_agent
from instance.portability import export_agent, import_agent, read_export
from instance.store.models import Commitment, Follow
from instance.tokens import create_token
from tests import mastodon
from tests.exchange.conftest import BREAD, Client, Pair
from tests.exchange.steps import agreed, kg, units
from tests.fakepeer import FakePeer
from tests.harness import Running, make_settings, running

OLD = "https://a.test/agents/alice"
NEW = "https://c.test/agents/alice"


async def moved_copy(pair: Pair, c: Running) -> None:
    out = io.StringIO()
    async with pair.a.services.db.read() as session:
        await export_agent(session, pair.a.services.urls, "alice", out, with_keys=True)
    head, rows = read_export(io.StringIO(out.getvalue()))
    async with c.services.db.write() as session:
        await import_agent(session, c.services.urls, head, rows)


async def masto_delivers(instance: Running, actor: object, activity: dict[str, object]) -> None:
    inbox = f"{instance.settings.base_url}/inbox"
    body, headers = mastodon.sign_like_mastodon(actor, inbox, activity)  # type: ignore[arg-type]
    response = await instance.client.post(inbox, content=body, headers=headers)
    assert response.status_code == 202, response.text


async def test_followers_and_exchanges_follow_a_moved_agent(
    pair: Pair, third_database: str
) -> None:
    masto = FakePeer(
        "https://mastodon.example",
        nodeinfo=mastodon.NODEINFO,
        actor_document=mastodon.actor_document,
    )
    pair.network.add(masto.origin, masto.app())
    mona = masto.actor("mona")
    alice, bob = pair.alice, pair.bob
    _, bread, agreement, currency = await agreed(pair)
    await bob.post({"type": "Follow", "object": OLD})
    await masto_delivers(pair.a, mona, mastodon.follow(mona, OLD))
    await pair.settle()
    async with running(make_settings(third_database, "https://c.test"), network=pair.network) as c:

        async def settle() -> None:
            await pair.a.settle(pair.b, c)

        await moved_copy(pair, c)
        new_actor = (
            await c.client.get(NEW, headers={"Accept": "application/activity+json"})
        ).json()
        assert new_actor["alsoKnownAs"] == [OLD]

        # A move to an actor that does not name the old one is refused, changing nothing.
        refused = await alice.instance.client.post(
            f"{OLD}/outbox",
            json={"type": "Move", "object": OLD, "target": "https://b.test/agents/bob"},
            headers=alice.auth,
        )
        assert refused.status_code == 422
        assert "does not list" in refused.json()["detail"]

        masto.received.clear()
        await alice.post({"type": "Move", "object": OLD, "target": NEW})
        await settle()
        old_actor = (
            await pair.a.client.get(OLD, headers={"Accept": "application/activity+json"})
        ).json()
        assert old_actor["movedTo"] == NEW

        # Mastodon got the Move, checks the new actor names the old one, and re-follows.
        (move,) = masto.activities("Move")
        assert (move["actor"], move["object"], move["target"]) == (OLD, OLD, NEW)
        checked = (
            await c.client.get(move["target"], headers={"Accept": "application/activity+json"})
        ).json()
        assert move["object"] in checked["alsoKnownAs"]
        masto.received.clear()
        await masto_delivers(c, mona, mastodon.follow(mona, NEW))
        await settle()
        (accept,) = masto.activities("Accept")
        assert accept["actor"] == NEW

        # bob (oce, b.test) followed the old actor: his server follows the new one itself.
        async with pair.b.services.db.read() as session:
            follows = {(f.followee, f.state) for f in await session.scalars(select(Follow))}
            parties = {
                (c_.provider, c_.receiver)
                for c_ in await session.scalars(
                    select(Commitment).where(Commitment.agreement_id.is_not(None))
                )
            }
        assert follows == {(NEW, "accepted")}
        assert parties == {(NEW, bob.id), (bob.id, NEW)}
        followers = (await c.client.get(f"{NEW}/followers")).json()
        assert followers["totalItems"] == 2  # Bob and Mona, each once
        # The agreement itself is still the one signed on a.test.
        assert agreement["id"].startswith("https://a.test/agreements/")

        # ... and it keeps working: Bob pays the new actor, the new actor delivers.
        async with c.services.db.write() as session:
            token = await create_token(session, await require_agent(session, "alice"))
        new_alice = Client(c, "alice", token)
        await bob.post(
            {
                "type": "EconomicEvent",
                "action": "transfer",
                "receiver": NEW,
                "resourceQuantity": units("20"),
                "fulfills": agreement["stipulatesReciprocal"]["id"],
                "reciprocalRealizationOf": agreement["id"],
            }
        )
        await new_alice.post(
            {
                "type": "EconomicEvent",
                "action": "transfer",
                "resourceInventoriedAs": bread,
                "receiver": bob.id,
                "resourceQuantity": kg("10"),
                "fulfills": agreement["stipulates"]["id"],
                "realizationOf": agreement["id"],
            }
        )
        await settle()
        on_b = next(a for a in await bob.items("agreements") if a["id"] == agreement["id"])
        on_c = next(a for a in await new_alice.items("agreements") if a["id"] == agreement["id"])
        assert on_b["oce:state"] == on_c["oce:state"] == "finished"
        held = {
            r.get("conformsTo"): r["accountingQuantity"] for r in await new_alice.items("resources")
        }
        assert held == {BREAD: kg("40"), currency: units("20")}

        # The old actor's profile page sends people to the new one; its client can no
        # longer post there.
        page = await pair.a.client.get(OLD, headers={"Accept": "text/html"})
        assert (page.status_code, page.headers["location"]) == (302, NEW)
        stale = await alice.instance.client.post(
            f"{OLD}/outbox",
            json={"type": "Note", "content": "still here?", "to": [bob.id]},
            headers=alice.auth,
        )
        assert stale.status_code == 403
        assert stale.json()["detail"] == f"{OLD} has moved to {NEW}: post from the new actor there"
        assert stale.json()["field"] == "actor"
