"""Servers for benchmarks: real ``oce serve`` processes, a bare Starlette baseline, and
fresh databases (a SQLite file, or a PostgreSQL database dropped afterwards).

Each server is its own process on a free loopback port, started the way an operator
starts it (``python -m instance.cli serve``), so what is measured is what runs.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "OCE_BENCH_POSTGRES_URL",
    os.environ.get("OCE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
)

_scratch = Path(tempfile.mkdtemp(prefix="oce-bench-"))
atexit.register(shutil.rmtree, _scratch, True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scratch() -> Path:
    """A fresh folder, removed when the benchmark exits."""
    path = _scratch / uuid.uuid4().hex[:12]
    path.mkdir()
    return path


def sqlite_url() -> str:
    return f"sqlite+aiosqlite:///{scratch() / 'oce.sqlite3'}"


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


async def _ready(server: Server, path: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.output()}")
            try:
                if (await client.get(server.base_url + path)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"server did not start in {within:.0f} s:\n{server.output()}")


@asynccontextmanager
async def _process(
    argv: list[str], env: dict[str, str], base_url: str, stop: signal.Signals = signal.SIGTERM
) -> AsyncIterator[Server]:
    log = scratch() / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(  # noqa: ASYNC220 (started once; stopped below)
            [sys.executable, *argv],
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = Server(base_url, process, log)
    try:
        await _ready(server, "/nodeinfo/2.1")
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(stop)
            try:
                await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()


def oce_env(database: str, port: int, **extra: str) -> dict[str, str]:
    base_url = f"http://127.0.0.1:{port}"
    return {
        "OCE_BASE_URL": base_url,
        "OCE_DATABASE_URL": database,
        "OCE_HOST": "127.0.0.1",
        "OCE_PORT": str(port),
        "OCE_ALLOW_PRIVATE_NETWORK": "1",
        "OCE_LOG_LEVEL": "warning",
        # Throughput benchmarks send from a few actors as fast as they can: the inbox
        # rate limits would measure themselves (bench/inbox_flood.py measures them).
        "OCE_INBOX_ACTOR_PER_MINUTE": "0",
        "OCE_INBOX_HOST_PER_MINUTE": "0",
        **extra,
    }


@asynccontextmanager
async def oce_server(database: str, port: int, **extra: str) -> AsyncIterator[Server]:
    """``oce serve`` on ``database`` (migrated on start), listening on 127.0.0.1:``port``.

    With ``OCE_BENCH_PROFILE=folder`` set, the server runs under pyinstrument and leaves
    its profile there when it stops (a ``.pyisession`` file per server; read it with
    ``python -m pyinstrument --load FILE``).
    """
    async with oce_serve(database, port, (), extra) as server:
        yield server


@asynccontextmanager
async def oce_serve(
    database: str, port: int, serve_args: tuple[str, ...], extra: dict[str, str]
) -> AsyncIterator[Server]:
    """:func:`oce_server` with arguments for ``oce serve`` (``--workers N``)."""
    env = oce_env(database, port, **extra)
    argv = ["-m", "instance.cli", "serve", *serve_args]
    if profile := os.environ.get("OCE_BENCH_PROFILE"):
        os.makedirs(profile, exist_ok=True)
        out = Path(profile) / f"oce-serve-{port}-{uuid.uuid4().hex[:6]}.pyisession"
        argv = ["-m", "pyinstrument", "--interval", "0.005", "-o", str(out), *argv]
    # uvicorn re-raises the signal it stopped on; pyinstrument writes its profile on
    # KeyboardInterrupt, not when killed by SIGTERM.
    stop = signal.SIGINT if profile else signal.SIGTERM
    async with _process(argv, env, env["OCE_BASE_URL"], stop) as server:
        yield server


@asynccontextmanager
async def bare_server() -> AsyncIterator[Server]:
    """The baseline: a bare Starlette app under uvicorn with the settings ``oce serve`` uses."""
    port = free_port()
    argv = ["-m", "bench.bare", str(port)]
    async with _process(argv, {}, f"http://127.0.0.1:{port}") as server:
        yield server


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def postgres_reachable() -> bool:
    try:
        connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"oce_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
