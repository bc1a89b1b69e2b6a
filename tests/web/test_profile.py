"""Editing one's profile and deleting one's agent from the app; the other instance's
copy follows, and the records the other party holds stay readable."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy import select

from instance.store.models import Agreement, RemoteActor
from tests.exchange.conftest import Pair
from tests.exchange.steps import agreed
from tests.web.signing import form_token, sign_in

HTML = {"Accept": "text/html"}
AS = {"Accept": "application/activity+json"}
ALICE = "https://a.test/agents/alice"
#: The smallest PNG: a 1x1 transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


async def _token(client: httpx.AsyncClient) -> str:
    return form_token((await client.get("/app/profile", headers=HTML)).text)


async def _copy_on_b(pair: Pair) -> dict[str, object]:
    async with pair.b.services.db.read() as session:
        row = await session.scalar(select(RemoteActor).where(RemoteActor.uri == ALICE))
    assert row is not None
    found: dict[str, object] = json.loads(row.document)
    return found


async def test_a_profile_edit_and_a_picture_reach_the_follower_on_the_other_instance(
    pair: Pair,
) -> None:
    await pair.bob.post({"type": "Follow", "object": ALICE})
    await pair.settle()
    alice = pair.a.client
    await sign_in(alice, "alice")

    saved = await alice.post(
        "/app/profile",
        data={"csrf": await _token(alice), "name": "Alice Baker", "summary": "Rye on Tuesdays."},
    )
    assert saved.status_code == 303, saved.text
    await pair.settle()
    assert (await _copy_on_b(pair))["name"] == "Alice Baker"
    assert "Alice Baker" in (await alice.get("/dashboard", headers=HTML)).text

    too_long = await alice.post(
        "/app/profile", data={"csrf": await _token(alice), "name": "x" * 201, "summary": ""}
    )
    assert too_long.status_code == 400
    assert '<span class="error" id="name-error">name has at most 200 characters' in too_long.text

    uploaded = await alice.post(
        "/app/profile/avatar",
        data={"csrf": await _token(alice)},
        files={"avatar": ("me.png", PNG, "image/png")},
    )
    assert uploaded.status_code == 303, uploaded.text
    icon = (await alice.get(ALICE, headers=AS)).json()["icon"]
    assert icon["mediaType"] == "image/png"
    picture = await alice.get(icon["url"])
    assert picture.status_code == 200
    assert picture.content == PNG
    assert picture.headers["content-type"] == "image/png"
    await pair.settle()
    assert (await _copy_on_b(pair))["icon"] == icon

    # Not an image (an SVG can carry script): refused next to the field, nothing kept.
    svg = await alice.post(
        "/app/profile/avatar",
        data={"csrf": await _token(alice)},
        files={"avatar": ("me.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png")},
    )
    assert svg.status_code == 415
    assert 'id="avatar-error">the picture must be a PNG, JPEG, GIF or WebP image' in svg.text
    assert (await alice.get(ALICE, headers=AS)).json()["icon"] == icon
    # Without the form's token nothing is changed.
    forged = await alice.post("/app/profile/avatar", files={"avatar": ("me.png", PNG, "image/png")})
    assert forged.status_code == 403


async def test_a_deleted_agent_leaves_the_records_others_hold(pair: Pair) -> None:
    _proposal, _bread, agreement, _currency = await agreed(pair)
    bob = pair.b.client
    await sign_in(bob, "bob")
    await sign_in(pair.a.client, "alice")

    wrong = await bob.post(
        "/app/profile/delete", data={"csrf": await _token(bob), "confirm": "alice"}
    )
    assert wrong.status_code == 400
    assert 'id="confirm-error">type bob to confirm' in wrong.text
    deleted = await bob.post(
        "/app/profile/delete", data={"csrf": await _token(bob), "confirm": "bob"}
    )
    assert deleted.status_code == 303
    await pair.settle()

    assert (await bob.get("https://b.test/agents/bob", headers=AS)).status_code == 410
    assert (await bob.get("/dashboard", headers=HTML)).status_code in (303, 307)
    # The Delete reached alice's instance (a party, not a follower): it forgot bob's actor.
    async with pair.a.services.db.read() as session:
        cached = await session.scalar(
            select(RemoteActor.uri).where(RemoteActor.uri == "https://b.test/agents/bob")
        )
    assert cached is None
    # Alice still reads the agreement, on her instance's page, with bob named in it.
    page = await pair.a.client.get(agreement["id"], headers=HTML)
    assert page.status_code == 200
    assert "bob@b.test" in re.sub(r"<[^>]+>", " ", page.text)
    # And bob's instance keeps its copy of the agreement.
    async with pair.b.services.db.read() as session:
        kept = await session.scalar(select(Agreement.uri).where(Agreement.uri == agreement["id"]))
    assert kept == agreement["id"]
