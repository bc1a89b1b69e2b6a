"""Sustained: the highest rate of signed activities an instance keeps up with, end to end.

An activity counts once it is *visible in its recipient's inbox collection* (the
``totalItems`` of ``GET /agents/NAME/inbox``, read with the agent's token, as its
client reads it): received, verified, stored, processed and filed. For each rate (from
``--rates``, lowest first, each on a fresh database):

* a load generator (its own process) sends pre-signed ``Create{Note}`` activities
  (``bench.inbox_ingest``'s requests, from ``--actors`` remote actors to ``--agents``
  local agents) at that fixed rate for ``--duration`` seconds, each on the second it is
  due, over up to 128 keep-alive connections;
* once a second, the recipients' inbox collections are read: the *backlog* is what
  was due to be sent by then and is not visible yet;
* the rate is **kept up with** when every activity was answered 202 and the backlog at
  the end of the window is at most ``--lag`` seconds' worth (default 5 s) of the rate,
  and no request went out more than ``--lag`` seconds behind its schedule.
  Afterwards the benchmark waits (at most ``--drain`` seconds) for the rest to show.

The search stops at the first rate not kept up with. Baseline, same run: the bare
Starlette ``POST /inbox`` (202, nothing else) sent the highest rate by the same
generator, which shows the rate the generator itself reaches on this machine.

On SQLite one ``oce serve`` does everything. On PostgreSQL (when reachable) the same
search runs with ``--web`` web processes (``oce serve --workers N``, each also
processing) plus ``--workers`` ``oce worker`` processes.

    PYTHONPATH=. python -m bench.sustained [--duration 60] [--rates 250,500,1000,1500]
                                           [--web 1,2,4] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from bench.inbox_ingest import (
    Ingest,
    Plan,
    cpu_seconds,
    remote_actors,
    seed_agents,
    sign_all,
    warm_up,
)
from bench.peers import key_pool
from bench.processing import loadavg
from bench.servers import (
    ROOT,
    Server,
    bare_server,
    free_port,
    oce_env,
    oce_serve,
    postgres_database,
    postgres_reachable,
    scratch,
    sqlite_url,
)
from instance.store.db import Database
from instance.store.models import Agent
from instance.tokens import create_token

TARGET_SQLITE = 1000.0
CONNECTIONS = 128


# The paced load generator (its own process) ---------------------------------------------


@dataclass
class Paced:
    seconds: float
    statuses: dict[int, int]
    errors: list[str]
    #: How late the last request went out, behind its schedule.
    late: float

    @property
    def accepted(self) -> int:
        return self.statuses.get(202, 0)


async def _paced(host: str, port: int, requests: Sequence[bytes], rate: float) -> Paced:
    from bench.inbox_ingest import _exchange

    loop = asyncio.get_running_loop()
    began = loop.time() + 0.2
    queue = iter(range(len(requests)))
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    late = [0.0]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in queue:
                due = began + i / rate
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                else:
                    late[0] = max(late[0], -wait)
                try:
                    status, body = await _exchange(reader, writer, requests[i])
                except (OSError, asyncio.IncompleteReadError) as exc:
                    statuses[0] += 1
                    errors.append(repr(exc))
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                statuses[status] += 1
                if status != 202 and len(errors) < 5:
                    errors.append(f"{status} {body[:200]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return Paced(loop.time() - began, dict(statuses), errors, late[0])


def _paced_process(host: str, port: int, requests: Sequence[bytes], rate: float) -> Paced:
    return asyncio.run(_paced(host, port, requests, rate))


async def send_paced(base_url: str, requests: Sequence[bytes], rate: float) -> Paced:
    parts = urlsplit(base_url)
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        await loop.run_in_executor(pool, os.getpid)  # started before the clock
        return await loop.run_in_executor(
            pool, _paced_process, parts.hostname or "127.0.0.1", parts.port or 80, requests, rate
        )


# Reading what is visible ----------------------------------------------------------------


async def agent_tokens(database_url: str, names: Sequence[str]) -> dict[str, str]:
    """A bearer token for each agent (as its client holds one)."""
    from sqlalchemy import select

    db = Database.from_url(database_url)
    tokens = {}
    try:
        async with db.write() as session:
            for name in names:
                agent = await session.scalar(select(Agent).where(Agent.username == name))
                assert agent is not None
                tokens[name] = await create_token(session, agent, "bench")
    finally:
        await db.dispose()
    return tokens


async def visible(client: httpx.AsyncClient, base_url: str, tokens: dict[str, str]) -> int:
    """Activities in the recipients' inbox collections, as their clients see them."""
    total = 0
    for name, token in tokens.items():
        response = await client.get(
            f"{base_url}/agents/{name}/inbox",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/activity+json"},
        )
        response.raise_for_status()
        total += int(response.json()["totalItems"])
    return total


# One rate on one server -------------------------------------------------------------------


@dataclass
class Step:
    rate: float
    sent: int
    paced: Paced
    backlog_end: int
    backlog_max: int
    drained_after: float | None
    cpu: float

    def kept_up(self, lag: float) -> bool:
        return (
            self.paced.accepted == self.sent
            and self.paced.late <= lag
            and self.backlog_end <= max(self.rate * lag, 50)
        )


async def one_rate(
    base_url: str,
    pids: Sequence[int],
    tokens: dict[str, str],
    requests: Sequence[bytes],
    rate: float,
    args: argparse.Namespace,
) -> Step:
    count = min(len(requests), int(rate * args.duration))
    async with httpx.AsyncClient(timeout=30) as client:
        before = await visible(client, base_url, tokens)
        cpu = _cpu(pids)
        sending = asyncio.create_task(send_paced(base_url, requests[:count], rate))
        began = time.perf_counter()
        backlog_max = 0
        while not sending.done():
            await asyncio.wait({sending}, timeout=1.0)
            due = min(count, int(rate * (time.perf_counter() - began)))
            backlog_max = max(backlog_max, due - (await visible(client, base_url, tokens) - before))
        paced = sending.result()
        backlog_end = count - (await visible(client, base_url, tokens) - before)
        cpu = _cpu(pids) - cpu
        stopped = time.perf_counter()
        drained_after = None
        backlog = backlog_end
        while time.perf_counter() - stopped < args.drain:
            if backlog <= 0:
                drained_after = time.perf_counter() - stopped
                break
            await asyncio.sleep(0.5)
            backlog = count - (await visible(client, base_url, tokens) - before)
    return Step(rate, count, paced, backlog_end, backlog_max, drained_after, cpu)


def _cpu(pids: Sequence[int]) -> float:
    """CPU seconds of the server's processes (one that has gone counts no more)."""
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += cpu_seconds(pid)
    return total


def report(step: Step, lag: float) -> str:
    verdict = "kept up" if step.kept_up(lag) else "NOT kept up"
    drained = (
        f"all visible {step.drained_after:.1f} s after the last was sent"
        if step.drained_after is not None
        else "STILL NOT ALL VISIBLE after the drain limit"
    )
    line = (
        f"  {step.rate:6.0f}/s for {step.paced.seconds:4.0f} s: {step.sent:,} sent, "
        f"{step.paced.accepted:,} answered 202 (generator at most {step.paced.late:.1f} s "
        f"late); backlog max {step.backlog_max:,}, at the end {step.backlog_end:,} "
        f"({step.backlog_end / step.rate:.1f} s); {drained}; server CPU "
        f"{step.cpu / step.paced.seconds:.0%} of a core: {verdict}"
    )
    others = {s: c for s, c in step.paced.statuses.items() if s != 202}
    if others:
        line += f"\n          not accepted: {others}; e.g. {step.paced.errors[:2]}"
    return line


async def _warm_up(
    server: Server, database: str, plan_of: tuple[Plan, tuple[str, ...]], tokens: dict[str, str]
) -> None:
    """Every actor sends once (its key is fetched and cached), and all of it is processed,
    before the clock starts."""
    warm = await warm_up(Ingest(server, database, plan_of[0]), 4, rounds=1)
    async with httpx.AsyncClient(timeout=30) as client:
        deadline = time.monotonic() + 120
        while await visible(client, server.base_url, tokens) < warm.accepted:
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up was not processed within 120 s")
            await asyncio.sleep(0.5)


# Servers -----------------------------------------------------------------------------------


@asynccontextmanager
async def _worker_process(database: str, port: int) -> AsyncIterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **oce_env(database, port)}
    log = scratch() / "worker.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(  # noqa: ASYNC220 (started once; stopped below)
            [sys.executable, "-m", "instance.cli", "worker"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 15)
        except subprocess.TimeoutExpired:
            process.kill()


def _children(server: Server) -> list[int]:
    import psutil

    return [server.pid, *(c.pid for c in psutil.Process(server.pid).children(recursive=True))]


async def search(
    label: str,
    database_of: object,
    plan_of: tuple[Plan, tuple[str, ...]],
    requests: Sequence[bytes],
    args: argparse.Namespace,
    *,
    web: int = 1,
    workers: int = 0,
) -> float:
    """Each rate on a fresh database and server, until one is not kept up with; the
    highest kept up with (0 when none)."""
    print(f"\n{label}")
    best = 0.0
    port = urlsplit(plan_of[0].instance_base).port or 80
    for rate in args.rates:
        async with database_of() as database:  # type: ignore[operator]
            names = await seed_agents(database, len(plan_of[1]))
            tokens = await agent_tokens(database, names)
            serve_args = ("--workers", str(web)) if web > 1 else ()
            async with AsyncExitStack() as stack:
                server = await stack.enter_async_context(
                    # Every peer is on one loopback address here; the turns a client
                    # gets would otherwise throttle them all as one.
                    oce_serve(
                        database,
                        port,
                        serve_args,
                        {"OCE_MAX_REQUESTS_PER_CLIENT": str(CONNECTIONS)},
                    )
                )
                for _ in range(workers):
                    await stack.enter_async_context(_worker_process(database, port))
                pids = _children(server)
                await _warm_up(server, database, plan_of, tokens)
                step = await one_rate(server.base_url, pids, tokens, requests, rate, args)
            print(report(step, args.lag), flush=True)
        if not step.kept_up(args.lag):
            break
        best = rate
    print(f"  highest rate kept up with: {best:.0f}/s")
    return best


class _Sqlite:
    async def __aenter__(self) -> str:
        return sqlite_url()

    async def __aexit__(self, *_exc: object) -> None:
        return None


async def run(args: argparse.Namespace) -> None:
    print(
        f"sustained: {args.duration:.0f} s at each rate of {args.rates}; {args.actors} remote "
        f"actors to {args.agents} agents; {os.cpu_count()} cores shared by the servers and "
        f"the load generator; load average before: {loadavg()}"
    )
    async with remote_actors() as (actors_base, _served):
        port = free_port()
        agents = tuple(f"member{n}" for n in range(args.agents))
        plan = Plan(
            f"http://127.0.0.1:{port}",
            actors_base,
            args.actors,
            agents,
            "sus",
            tuple(pair.private_pem for pair in key_pool()),
        )
        most = int(max(args.rates) * args.duration)
        began = time.perf_counter()
        requests = await sign_all(plan, most)
        print(f"signed {most:,} requests in {time.perf_counter() - began:.0f} s (unmeasured)")

        async with bare_server() as bare:
            top = max(args.rates)
            paced = await send_paced(bare.base_url, requests[: int(top * args.duration)], top)
        print(
            f"\nbaseline: bare Starlette POST /inbox at {top:.0f}/s: {paced.accepted:,} of "
            f"{int(top * args.duration):,} answered 202 in {paced.seconds:.1f} s, generator "
            f"at most {paced.late:.2f} s late"
        )

        if args.sqlite:
            best = await search(
                "SQLite, one oce serve (it also processes)", _Sqlite, (plan, agents),
                requests, args,
            )  # fmt: skip
            verdict = "met" if best >= TARGET_SQLITE else "MISSED"
            print(f"  target ≥ {TARGET_SQLITE:.0f}/s on one SQLite process: {verdict}")
        if args.postgres and await postgres_reachable():
            for web in args.web:
                await search(
                    f"PostgreSQL, {web} web process(es) + {args.workers} oce worker(s)",
                    postgres_database,
                    (plan, agents),
                    requests,
                    args,
                    web=web,
                    workers=args.workers,
                )
        elif args.postgres:
            print("\nPostgreSQL is not reachable: skipped")
    print(f"\nload average after: {loadavg()}")


def _numbers(text: str) -> list[int]:
    return sorted(int(n) for n in text.split(",") if n.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds at each rate")
    parser.add_argument("--rates", type=_numbers, default=[250, 500, 1000, 1500])
    parser.add_argument("--lag", type=float, default=5.0, help="backlog bound, in seconds")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait after")
    parser.add_argument("--actors", type=int, default=200)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--web", type=_numbers, default=[1, 2, 4], help="PostgreSQL")
    parser.add_argument("--workers", type=int, default=1, help="oce worker processes (PG)")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
