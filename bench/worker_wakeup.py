"""Worker wake-up on PostgreSQL: how soon a delivery queued by a web process is sent.

One ``oce serve`` with ``OCE_RUN_WORKERS=0`` (a web process only) and one ``oce
worker`` share a fresh PostgreSQL database, as in a scaled-out deployment
(docs/scaling.md). An agent with one follower on a loopback sink (:mod:`bench.sinks`)
posts a Note to its outbox, one after another; each time we measure from the 201 (the
delivery is committed by then) until the sink got the POST: the worker in the other
process must notice the new row, claim it, sign it and send it.

Run twice in the same run: with ``LISTEN/NOTIFY`` (the default, instance.store.notify)
and, as the baseline, with ``OCE_WORKER_NOTIFY=false`` (the worker finds the row at its
next poll, every 0.5 s). Target: median under 20 ms with the notification.

    PYTHONPATH=. python -m bench.worker_wakeup [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from bench.fanout import USERNAME, _note, seed
from bench.load import percentile
from bench.servers import (
    ROOT,
    free_port,
    oce_env,
    oce_server,
    postgres_database,
    postgres_reachable,
    scratch,
)
from bench.sinks import Sinks, sinks

TARGET_MS = 20.0


@asynccontextmanager
async def oce_worker(env: dict[str, str]) -> AsyncIterator[subprocess.Popen[bytes]]:
    """``oce worker`` with ``env``, once it says it is working."""
    log = scratch() / "worker.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(  # noqa: ASYNC220 (started once; stopped below)
            [sys.executable, "-m", "instance.cli", "worker"],
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while b"oce worker processing" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"oce worker did not start:\n{log.read_text()[-3000:]}")
            await asyncio.sleep(0.05)
        yield process
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 15)


async def _round(client: httpx.AsyncClient, url: str, token: str, running: Sinks) -> float:
    """One post; milliseconds from its 201 until the sink had the delivery."""
    await running.reset()
    base = url.split("/agents/", 1)[0]
    note = {**_note(), "cc": [f"{base}/agents/{USERNAME}/followers"]}
    response = await client.post(
        url,
        json=note,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/activity+json"},
    )
    answered = time.time()
    if response.status_code != 201:
        raise RuntimeError(f"outbox POST: {response.status_code} {response.text[:300]}")
    while True:
        counts = await running.counts()
        first = [c.first for c in counts.values() if c.requests]
        if first:
            return max(0.0, first[0] - answered) * 1000
        if time.time() - answered > 30:
            raise RuntimeError("the delivery was not sent within 30 s")
        await asyncio.sleep(0.002)


async def measure(label: str, running: Sinks, rounds: int, **extra: str) -> list[float]:
    async with postgres_database() as url:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        token = await seed(url, base, running, 1)
        env = oce_env(url, port, **extra)
        async with (
            oce_server(url, port, OCE_RUN_WORKERS="false", **extra),
            oce_worker(env),
            httpx.AsyncClient(timeout=30) as client,
        ):
            outbox = f"{base}/agents/{USERNAME}/outbox"
            await _round(client, outbox, token, running)  # warm-up: keys, connections
            await asyncio.sleep(1)  # the worker is idle again, waiting
            latencies = []
            for _ in range(rounds):
                latencies.append(await _round(client, outbox, token, running))
                await asyncio.sleep(0.05)
    median = statistics.median(latencies)
    print(
        f"  {label:34} median {median:6.1f} ms  p90 {percentile(latencies, 0.9):6.1f} ms  "
        f"max {max(latencies):6.1f} ms  ({rounds} deliveries)"
    )
    return latencies


async def run(rounds: int) -> None:
    if not await postgres_reachable():
        print("PostgreSQL is not reachable: skipped")
        return
    print(
        f"{rounds} posts, one at a time, each delivered by an `oce worker` in another process "
        "(from the 201 until the sink has it)"
    )
    async with sinks(1) as running:
        polled = await measure("baseline: polling every 0.5 s", running, rounds,
                               OCE_WORKER_NOTIFY="false")  # fmt: skip
        notified = await measure("LISTEN/NOTIFY", running, rounds)
    median = statistics.median(notified)
    verdict = "met" if median < TARGET_MS else "MISSED"
    print(
        f"  LISTEN/NOTIFY median is {statistics.median(polled) / max(median, 0.001):.0f}x "
        f"faster than polling; target median < {TARGET_MS:.0f} ms: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
