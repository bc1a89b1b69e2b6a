"""Notifications: derived as activities reach their recipients, listed on a page, counted
in the header of every signed-in page, and pushed live over server-sent events."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import httpx
import pytest

from instance.agents import get_agent
from instance.notices import TooManyStreams
from tests.exchange.conftest import Pair
from tests.exchange.steps import agreed, kg
from tests.web.signing import form_token, sign_in

HTML = {"Accept": "text/html"}


def _text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def _count(page: str) -> int:
    found = re.search(r'<span class="count" id="unread">(\d+)</span>', page)
    assert found, "the header has no notification count"
    return int(found[1])


async def _page(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    return response.text


async def test_what_each_party_is_told(pair: Pair) -> None:
    alice, bob = pair.a.client, pair.b.client
    await sign_in(alice, "alice")
    await sign_in(bob, "bob")
    assert _count(await _page(alice, "/dashboard")) == 0

    # Bob follows Alice, so her new offer reaches him; his answer, her acceptance and
    # her delivery each tell the other.
    await pair.bob.post({"type": "Follow", "object": pair.alice.id})
    await pair.settle()
    _proposal, bread, agreement, _currency = await agreed(pair)
    await pair.alice.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "resourceInventoriedAs": bread,
            "receiver": pair.bob.id,
            "resourceQuantity": kg("4"),
            "fulfills": agreement["stipulates"]["id"],
        }
    )
    await pair.bob.post(
        {
            "type": "Note",
            "content": "Thanks @alice@a.test",
            "to": [pair.alice.id],
            "tag": [{"type": "Mention", "href": pair.alice.id, "name": "@alice@a.test"}],
        }
    )
    await pair.settle()

    alice_page = await _page(alice, "/app/notifications")
    assert _count(alice_page) == 3, _text(alice_page)
    assert "bob@b.test answered your offer or request" in _text(alice_page)
    assert "bob@b.test accepted" in _text(alice_page)  # the delivery, received
    assert "bob@b.test mentioned you" in _text(alice_page)
    bob_page = await _page(bob, "/app/notifications")
    assert _count(bob_page) == 3
    text = _text(bob_page)
    assert "alice@a.test published a new offer" in text
    assert "alice@a.test accepted" in text
    assert "alice@a.test sent you a delivery or a payment" in text
    # Every signed-in page carries the count.
    assert _count(await _page(bob, "/app/publish")) == 3

    marked = await bob.post(
        "/app/notifications/read", data={"csrf": form_token(bob_page), "up_to": "999999"}
    )
    assert marked.status_code == 303
    assert _count(await _page(bob, "/dashboard")) == 0
    # Without the form's token nothing is marked.
    forged = await alice.post("/app/notifications/read", data={"up_to": "999999"})
    assert forged.status_code == 403
    assert _count(await _page(alice, "/dashboard")) == 3


async def test_the_live_count(pair: Pair) -> None:
    alice = pair.a.client
    await sign_in(alice, "alice")
    notifier = pair.a.services.notices
    # Only the signal can bring the news within this stream's life: no poll meanwhile.
    notifier.lifetime, notifier.heartbeat, notifier.poll = 60.0, 60.0, 60.0

    stream = asyncio.create_task(alice.get("/app/notifications/stream"))

    async def until(condition: Callable[[], bool]) -> None:
        for _ in range(1000):  # bounded: 10 s
            if condition():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the stream never got there")

    async with pair.a.services.db.read() as session:
        me = await get_agent(session, "alice")
    assert me is not None
    await until(lambda: [found.sent for found in notifier.listeners_of(me.id)] == [0])
    (listener,) = notifier.listeners_of(me.id)
    await pair.bob.post(
        {
            "type": "Note",
            "content": "Hello @alice@a.test",
            "to": [pair.alice.id],
            "tag": [{"type": "Mention", "href": pair.alice.id}],
        }
    )
    await pair.settle()
    await until(lambda: listener.sent == 1)
    # The same browser opening a new stream ends this one (one stream per session).
    replacement = notifier.open(listener.agent_id, listener.session_id)
    response = await stream
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = re.findall(r"event: unread\ndata: (\d+)", response.text)
    assert events == ["0", "1"]
    assert listener.ended
    notifier.close(replacement)
    assert notifier.streams == 0

    # Signed out: no stream.
    anonymous = await pair.b.client.get("/app/notifications/stream")
    assert anonymous.status_code == 401

    # Bounded: one stream per session, a cap per process.
    notifier.max_streams = 1
    first = notifier.open(agent_id=1, session_id=10)
    again = notifier.open(agent_id=1, session_id=10)  # the same browser: replaces it
    assert first.ended
    assert not again.ended
    assert notifier.streams == 1
    with pytest.raises(TooManyStreams):
        notifier.open(agent_id=2, session_id=11)
    notifier.close(again)
    notifier.open(agent_id=2, session_id=11)
    refused = await pair.a.client.get("/app/notifications/stream")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "60"
