"""Two and three real instances federating over signed HTTP on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    agent_with_token,
    collection_items,
    get_json,
    post_outbox,
    sqlite_url,
    wait_for,
)
from tests.processes import Process, free_port, instance_env, serving

pytestmark = pytest.mark.e2e

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def count(server: Process, sql: str) -> int:
    """The one number a ``SELECT count(*)`` query answers."""
    ((value,),) = server.query(sql)
    assert isinstance(value, int)
    return value


def test_follow_accept_and_a_note_between_two_instances(tmp_path: Path) -> None:
    with (
        serving("a", sqlite_url(tmp_path, "a"), tmp_path) as a,
        serving("b", sqlite_url(tmp_path, "b"), tmp_path) as b,
    ):
        alice = agent_with_token(a, "alice")
        bob = agent_with_token(b, "bob")
        alice_id, bob_id = f"{a.base_url}/agents/alice", f"{b.base_url}/agents/bob"

        # Bob follows Alice through his outbox; Alice's instance accepts automatically.
        post_outbox(b, "bob", bob, {"type": "Follow", "object": alice_id})
        wait_for(
            "bob in alice's followers",
            lambda: collection_items(f"{alice_id}/followers") == [bob_id],
            30,
            a,
            b,
        )
        wait_for(
            "the Accept to reach bob",
            lambda: collection_items(f"{bob_id}/following") == [alice_id],
            30,
            a,
            b,
        )
        assert get_json(f"{alice_id}/followers")["totalItems"] == 1

        # Alice posts to her followers: it lands in Bob's inbox.
        created = post_outbox(
            a,
            "alice",
            alice,
            {
                "type": "Note",
                "content": "Bread is ready",
                "to": [PUBLIC],
                "cc": [f"{alice_id}/followers"],
            },
        ).json()

        def bob_has_it() -> bool:
            return any(
                i.get("id") == created["id"] for i in collection_items(f"{bob_id}/inbox", bob)
            )

        wait_for("the note in bob's inbox", bob_has_it, 30, a, b)
        note = next(i for i in collection_items(f"{bob_id}/inbox", bob) if i["id"] == created["id"])
        assert note["object"]["content"] == "Bread is ready"
        assert note["actor"] == alice_id


def test_three_instances_share_inbox_deliveries(tmp_path: Path) -> None:
    with (
        serving("a", sqlite_url(tmp_path, "a"), tmp_path) as a,
        serving("b", sqlite_url(tmp_path, "b"), tmp_path) as b,
        serving("c", sqlite_url(tmp_path, "c"), tmp_path) as c,
    ):
        alice = agent_with_token(a, "alice")
        alice_id = f"{a.base_url}/agents/alice"
        followers = []
        for server, names in ((b, ["b1", "b2", "b3"]), (c, ["c1"])):
            for name in names:
                auth = agent_with_token(server, name)
                post_outbox(server, name, auth, {"type": "Follow", "object": alice_id})
                followers.append((server, name, auth))
        wait_for(
            "four followers",
            lambda: get_json(f"{alice_id}/followers")["totalItems"] == 4,
            30,
            a,
            b,
            c,
        )
        created = post_outbox(
            a,
            "alice",
            alice,
            {"type": "Note", "content": "hi all", "to": [PUBLIC], "cc": [f"{alice_id}/followers"]},
        ).json()
        for server, name, auth in followers:
            inbox = f"{server.base_url}/agents/{name}/inbox"

            def arrived(inbox: str = inbox, auth: dict[str, str] = auth) -> bool:
                return any(i.get("id") == created["id"] for i in collection_items(inbox, auth))

            wait_for(
                f"the note at {name}",
                arrived,
                30,
                a,
                b,
                c,
            )


def test_a_peer_that_was_down_gets_the_activity_when_back(tmp_path: Path) -> None:
    b_port = free_port()
    b_url = f"http://127.0.0.1:{b_port}"
    b = Process("b", b_url, instance_env(b_url, sqlite_url(tmp_path, "b")), tmp_path / "b.log")
    b.start()
    with serving("a", sqlite_url(tmp_path, "a"), tmp_path) as a:
        try:
            alice = agent_with_token(a, "alice")
            bob = agent_with_token(b, "bob")
            alice_id = f"{a.base_url}/agents/alice"
            bob_id = f"{b.base_url}/agents/bob"
            post_outbox(b, "bob", bob, {"type": "Follow", "object": alice_id})
            wait_for(
                "the follow", lambda: get_json(f"{alice_id}/followers")["totalItems"] == 1, 30, a, b
            )
            b.stop()  # bob's server goes down

            created = post_outbox(
                a,
                "alice",
                alice,
                {
                    "type": "Note",
                    "content": "while you were out",
                    "to": [PUBLIC],
                    "cc": [f"{alice_id}/followers"],
                },
            ).json()
            # It cannot be delivered now: it waits in alice's queue after a failed try.
            wait_for(
                "a failed first attempt",
                lambda: (
                    a.query(
                        "SELECT count(*) FROM deliveries WHERE state = 'pending' "
                        "AND attempts >= 1 AND last_error IS NOT NULL"
                    )
                    == [(1,)]
                ),
                30,
                a,
            )
            b.start()  # back up; bob's next request shows a.test his server is alive
            post_outbox(b, "bob", bob, {"type": "Note", "content": "I'm back", "to": [alice_id]})

            def delivered() -> bool:
                return any(
                    i.get("id") == created["id"] for i in collection_items(f"{bob_id}/inbox", bob)
                )

            wait_for("the note after bob's server came back", delivered, 60, a, b)
        finally:
            b.stop()


def test_killing_the_sender_mid_delivery_loses_nothing(tmp_path: Path) -> None:
    a_port = free_port()
    a_url = f"http://127.0.0.1:{a_port}"
    a = Process("a", a_url, instance_env(a_url, sqlite_url(tmp_path, "a")), tmp_path / "a.log")
    a.start()
    with serving("b", sqlite_url(tmp_path, "b"), tmp_path) as b:
        try:
            alice = agent_with_token(a, "alice")
            bob = agent_with_token(b, "bob")
            alice_id = f"{a.base_url}/agents/alice"
            bob_id = f"{b.base_url}/agents/bob"
            post_outbox(b, "bob", bob, {"type": "Follow", "object": alice_id})
            wait_for(
                "the follow", lambda: get_json(f"{alice_id}/followers")["totalItems"] == 1, 30, a, b
            )
            # Bob's server hangs: alice's deliveries are sent but never answered.
            b.pause()
            ids = []
            with httpx.Client(timeout=30) as client:
                for n in range(150):
                    response = client.post(
                        f"{alice_id}/outbox",
                        json={
                            "type": "Note",
                            "content": f"note {n}",
                            "to": [PUBLIC],
                            "cc": [f"{alice_id}/followers"],
                        },
                        headers=alice,
                    )
                    assert response.status_code == 201
                    ids.append(response.json()["id"])
            wait_for(
                "deliveries in flight",
                lambda: (
                    count(a, "SELECT count(*) FROM deliveries WHERE lease_until IS NOT NULL") > 0
                ),
                10,
                a,
            )
            a.kill()  # SIGKILL while deliveries are under way
            pending = count(a, "SELECT count(*) FROM deliveries WHERE state = 'pending'")
            assert pending > 0  # the kill really interrupted work
            b.resume()
            a.start()

            def bob_notes() -> list[str]:
                inbox = collection_items(f"{bob_id}/inbox", bob)
                return [i["id"] for i in inbox if i["type"] == "Create"]

            wait_for("all 150 notes at bob", lambda: set(ids) <= set(bob_notes()), 120, a, b)
            # Deliveries cut off by the kill are sent again (bob may have read some of them
            # already): every one ends done, and bob keeps each activity once.
            wait_for(
                "every delivery done",
                lambda: (
                    a.query("SELECT state, count(*) FROM deliveries GROUP BY state")
                    == [("done", 151)]
                ),
                60,
                a,
            )
            received = bob_notes()
            assert len(received) == len(set(received)) == 150
        finally:
            a.stop()
