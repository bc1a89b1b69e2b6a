"""Normalization runs in its own thread, within a time limit, never on the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from instance.normalizing import normalize_bounded, off_loop
from vocab import LimitError, normalize

AS = "https://www.w3.org/ns/activitystreams"


async def test_normalizing_gives_what_vocab_gives_from_another_thread() -> None:
    document = {"@context": AS, "id": "https://peer.test/a", "type": "Follow", "actor": "x"}
    threads: list[str] = []

    def work() -> object:
        threads.append(threading.current_thread().name)
        return normalize(document)

    assert await off_loop(work) == await normalize_bounded(document) == normalize(document)
    assert threads[0].startswith("oce-jsonld")


async def test_work_past_the_time_limit_is_refused_while_the_loop_keeps_answering() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        with pytest.raises(LimitError, match=r"longer than 0\.2 seconds"):
            await off_loop(lambda: time.sleep(1), limit=0.2)
    finally:
        task.cancel()
    assert ticks > 0  # the loop ran other tasks while the thread worked
    # The thread finishes the abandoned work, then takes the next document.
    assert await off_loop(lambda: 42, limit=5) == 42
