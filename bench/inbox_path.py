"""The inbox's request path alone: CPU an activity, in one process, without HTTP.

``bench.inbox_ingest`` measures the whole server (uvicorn's HTTP parsing, the load
generator on the same cores, the inbox processor working meanwhile). This one calls the
oce ASGI app directly with the same signed requests (``POST /inbox``, 64 in flight),
on a fresh SQLite database with ``synchronous=FULL`` and the background workers off,
so what it measures is the route: reading the body, the strict JSON, the signature,
the origin checks, the group commit and the 202. Its baseline, in the same run, is the
bare Starlette app of ``bench.bare`` called the same way.

``--profile FILE`` writes a cProfile of the oce run there (``python -m pstats FILE``)
and prints its top functions; the profiles in docs/performance.md come from it.

    PYTHONPATH=. python -m bench.inbox_path [--activities 5000] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from bench.inbox_ingest import Plan, remote_actors, seed_agents, sign_all
from bench.peers import key_pool
from bench.servers import free_port, oce_env, sqlite_url

CONCURRENCY = 64


def _split(raw: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    return headers, body


async def _call(app: Any, state: dict[str, Any], raw: bytes, statuses: Counter[int]) -> None:
    headers, body = _split(raw)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/inbox",
        "raw_path": b"/inbox",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "state": dict(state),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] += 1

    await app(scope, receive, send)


async def _drive(app: Any, state: dict[str, Any], requests: Sequence[bytes]) -> Counter[int]:
    statuses: Counter[int] = Counter()
    queue = iter(requests)

    async def lane() -> None:
        for raw in queue:
            await _call(app, state, raw, statuses)

    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return statuses


async def _measure(
    label: str, app: Any, state: dict[str, Any], requests: Sequence[bytes], profile: str | None
) -> float:
    profiler = cProfile.Profile() if profile else None
    cpu, wall, own = time.process_time(), time.perf_counter(), time.thread_time()
    if profiler:
        profiler.enable()
    statuses = await _drive(app, state, requests)
    if profiler:
        profiler.disable()
    own = time.thread_time() - own
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    per = cpu / len(requests) * 1000
    print(
        f"  {label:16} {per:6.3f} ms of CPU an activity ({own / len(requests) * 1000:.3f} "
        f"on the event loop's thread), {len(requests) / wall:7.0f}/s (answers {dict(statuses)})"
    )
    if profiler and profile:
        profiler.dump_stats(profile)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        print(text.getvalue())
    return per


async def run(args: argparse.Namespace) -> None:
    from bench.bare import app as bare_app
    from instance.app import create_app
    from instance.settings import load_settings

    async with remote_actors() as (actors_base, _served):
        port = free_port()
        plan = Plan(
            f"http://127.0.0.1:{port}",
            actors_base,
            50,
            ("member0",),
            "path",
            tuple(pair.private_pem for pair in key_pool()),
        )
        requests = await sign_all(plan, args.activities)
        warm = await sign_all(plan, 200, first=10_000_000)

        bare_state: dict[str, Any] = {}
        await _drive(bare_app, bare_state, warm)
        bare = await _measure("bare Starlette", bare_app, bare_state, requests, None)

        database = sqlite_url()
        await seed_agents(database, 1)
        env = oce_env(database, port, OCE_RUN_WORKERS="false", OCE_ACCESS_LOG="false")
        os.environ.update(env)
        app = create_app(load_settings())
        async with AsyncExitStack() as stack:
            started: Any = await stack.enter_async_context(app.router.lifespan_context(app))
            state = dict(started)
            await _drive(app, state, warm)  # every actor's key fetched
            oce = await _measure("oce POST /inbox", app, state, requests, args.profile)
        print(f"  oce costs {oce / bare:.1f}x the bare endpoint's CPU an activity")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=5000)
    parser.add_argument("--profile", help="write a cProfile of the oce run to this file")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
