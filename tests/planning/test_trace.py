"""The walk's bounds against other instances: which events of a remote process it
follows, and what it says when a remote instance is too slow."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Any

from instance.planning.trace import walk
from instance.urls import Urls

URLS = Urls("https://a.test")
VIEWER = "https://a.test/agents/alice"
PROCESS = "https://c.test/processes/1"


def no_local_reads() -> AbstractAsyncContextManager[Any]:
    raise AssertionError("the walk read a local record it was not given")


REMOTE: dict[str, dict[str, Any]] = {
    "https://c.test/events/work": {
        "id": "https://c.test/events/work",
        "type": "EconomicEvent",
        "action": "work",
        "inputOf": PROCESS,
    },
    PROCESS: {
        "id": PROCESS,
        "type": "Process",
        "name": "Mill",
        "oce:events": ["https://c.test/events/work", "https://c.test/events/flour"],
        "oce:inputEvents": ["https://c.test/events/work"],
        "oce:outputEvents": ["https://c.test/events/flour"],
    },
}


async def test_a_remote_process_is_followed_to_its_outputs_and_a_slow_instance_said_so() -> None:
    async def fetch(uri: str) -> dict[str, Any] | None:
        if uri == "https://c.test/events/flour":
            await asyncio.sleep(60)  # c.test hangs on this one
        return REMOTE.get(uri)

    found = await walk(
        "https://c.test/events/work",
        "track",
        viewer=VIEWER,
        urls=URLS,
        read=no_local_reads,
        fetch=fetch,
        time_limit=0.5,
    )
    assert [(n["id"], n.get("readable", True)) for n in found.nodes] == [
        ("https://c.test/events/work", True),
        (PROCESS, True),
        ("https://c.test/events/flour", False),
    ]
    assert found.nodes[1]["instance"] == "https://c.test"
    assert found.nodes[2]["reason"] == "its instance did not answer in time"
    assert found.truncated is True


async def test_a_trace_through_a_remote_process_goes_to_its_inputs_only() -> None:
    async def fetch(uri: str) -> dict[str, Any] | None:
        return REMOTE.get(uri)

    found = await walk(PROCESS, "trace", viewer=VIEWER, urls=URLS, read=no_local_reads, fetch=fetch)
    assert [n["id"] for n in found.nodes] == [PROCESS, "https://c.test/events/work"]
    assert found.truncated is False
