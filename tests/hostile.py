"""Hostile clients and peers for load tests, on raw loopback sockets.

Each attack runs until a shared ``stop`` event is set and counts what happened to it,
so a test can say both that the instance survived and that the attack was really
made (connections held, requests sent, refusals received).

* :func:`slow_headers`: connections that send a request's headers a few bytes at a time
  (slowloris), reconnecting whenever the server closes them;
* :func:`slow_bodies`: POSTs that announce a body and trickle it;
* :class:`Blackhole`: a server that accepts connections and never answers (a peer whose
  key URL hangs);
* :func:`raw_request`: one request on a fresh socket, its status read back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

__all__ = ["Blackhole", "Tally", "raw_request", "slow_bodies", "slow_headers"]


@dataclass
class Tally:
    """What one kind of attack did: attempts, answers by status, connections the server
    closed on it and how long the longest of those had lived."""

    name: str
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    closed_by_server: int = 0
    longest_held: float = 0.0
    errors: int = 0

    def answered(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def held(self, seconds: float) -> None:
        self.closed_by_server += 1
        self.longest_held = max(self.longest_held, seconds)


async def _open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(host, port), 10)


async def _trickle(
    tally: Tally, host: str, port: int, head: bytes, drip: bytes, every: float, stop: asyncio.Event
) -> None:
    """Send ``head``, then ``drip`` every ``every`` seconds until the server closes the
    connection (reconnect) or ``stop`` is set."""
    while not stop.is_set():
        try:
            reader, writer = await _open(host, port)
        except (OSError, TimeoutError):
            tally.errors += 1
            await asyncio.sleep(0.5)
            continue
        opened = time.monotonic()
        tally.sent += 1
        try:
            writer.write(head)
            await writer.drain()
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(every):
                        # The server may answer (408, 431) or just close: either ends it.
                        data = await reader.read(1024)
                        if data.startswith(b"HTTP/1.1 "):
                            tally.answered(int(data[9:12]))
                        if not data or data.startswith(b"HTTP/1.1 "):
                            tally.held(time.monotonic() - opened)
                            break
                writer.write(drip)
                await writer.drain()
        except OSError:
            tally.held(time.monotonic() - opened)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def slow_headers(
    host: str, port: int, connections: int, stop: asyncio.Event, *, every: float = 1.0
) -> Tally:
    """``connections`` slowloris clients: a request line, then a header byte a second."""
    tally = Tally("slow headers")
    head = f"GET /agents/alice HTTP/1.1\r\nHost: {host}:{port}\r\nX-a: ".encode()
    async with asyncio.TaskGroup() as group:
        for _ in range(connections):
            group.create_task(_trickle(tally, host, port, head, b"a", every, stop))
    return tally


async def slow_bodies(
    host: str, port: int, path: str, connections: int, stop: asyncio.Event, *, every: float = 1.0
) -> Tally:
    """``connections`` POSTs announcing 500 kB and sending ten bytes a second."""
    tally = Tally("slow bodies")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/activity+json\r\nContent-Length: 500000\r\n\r\n{"
    ).encode()
    async with asyncio.TaskGroup() as group:
        for _ in range(connections):
            group.create_task(_trickle(tally, host, port, head, b" " * 10, every, stop))
    return tally


async def raw_request(host: str, port: int, request: bytes, *, patience: float = 30) -> int:
    """Send one whole request on a new connection; the status of the answer (0: the
    server closed the connection without one)."""
    reader, writer = await _open(host, port)
    try:
        async with asyncio.timeout(patience):
            writer.write(request)
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                await writer.drain()
            line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return int(line[9:12]) if line.startswith(b"HTTP/1.1 ") else 0


class Blackhole:
    """A loopback server that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []
        self.accepted = 0
        self.port = 0

    async def _hold(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._held.append(writer)

    async def __aenter__(self) -> Blackhole:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for writer in self._held:
            writer.close()
        assert self._server is not None
        self._server.close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def read_steadily(urls: list[tuple[str, dict[str, str]]], seconds: float) -> list[float]:
    """GET each of ``urls`` in turn, twenty rounds a second, for ``seconds``; the latency of
    every read. Run in a process of its own (:func:`main`), so that the load generator's
    busy event loop does not count as the server's slowness. A read that is not 200
    ends it with an error."""
    import httpx

    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            for url, headers in urls:
                started = time.monotonic()
                response = client.get(url, headers=headers)
                latencies.append(time.monotonic() - started)
                if response.status_code != 200:
                    raise SystemExit(f"GET {url}: {response.status_code} {response.text}")
            time.sleep(0.05)
    return latencies


def main(argv: list[str]) -> None:
    """``python -m tests.hostile SECONDS JSON``: :func:`read_steadily` over the
    ``[[url, headers], ...]`` in JSON; prints the latencies as JSON."""
    import json

    seconds, urls = float(argv[0]), json.loads(argv[1])
    print(json.dumps(read_steadily([(u, h) for u, h in urls], seconds)))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
