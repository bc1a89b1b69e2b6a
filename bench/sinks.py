"""Inbox sinks for benchmarks: many loopback "hosts" served by one asyncio process.

Each sink listens on its own port (hosts are told apart by host:port), answers every
HTTP/1.1 request with 202 and keeps nothing but counts: requests, signed requests, and
the wall-clock time of the first and last request. A control port answers
``GET /counts`` (JSON, keyed by sink port) and ``POST /reset``.

Run by :func:`sinks` in its own process, so the work of receiving is not billed to the
benchmark's client or to the server under test:

    python -m bench.sinks 500      # prints {"control": port, "ports": [...]} and serves
"""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench.servers import ROOT

ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


class _Count:
    __slots__ = ("first", "last", "requests", "signed")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.signed = 0
        self.first = 0.0
        self.last = 0.0


class _Http(asyncio.Protocol):
    """Just enough HTTP/1.1: keep-alive, Content-Length bodies, pipelining."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                line_end = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : line_end if line_end >= 0 else None])
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            self.transport.write(self.answer(head))

    def answer(self, head: bytes) -> bytes:
        raise NotImplementedError


class _Sink(_Http):
    def __init__(self, count: _Count) -> None:
        super().__init__()
        self.count = count

    def answer(self, head: bytes) -> bytes:
        count = self.count
        now = time.time()
        if not count.requests:
            count.first = now
        count.requests += 1
        count.last = now
        if b"\r\nsignature:" in head:
            count.signed += 1
        return ACCEPTED


class _Control(_Http):
    def __init__(self, counts: dict[int, _Count]) -> None:
        super().__init__()
        self.counts = counts

    def answer(self, head: bytes) -> bytes:
        if head.startswith(b"post /reset"):
            for count in self.counts.values():
                count.reset()  # in place: open connections hold their host's count
            body = b"{}"
        else:
            body = json.dumps(
                {p: [c.requests, c.signed, c.first, c.last] for p, c in self.counts.items()}
            ).encode()
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )


async def _serve(n: int) -> None:
    loop = asyncio.get_running_loop()
    counts: dict[int, _Count] = {}
    servers = []
    for _ in range(n):
        count = _Count()
        server = await loop.create_server(
            functools.partial(_Sink, count), "127.0.0.1", 0, backlog=512
        )
        counts[server.sockets[0].getsockname()[1]] = count
        servers.append(server)
    control = await loop.create_server(lambda: _Control(counts), "127.0.0.1", 0)
    print(json.dumps({"control": control.sockets[0].getsockname()[1], "ports": list(counts)}))
    sys.stdout.flush()
    await asyncio.Event().wait()


@dataclass(frozen=True)
class HostCount:
    requests: int
    signed: int
    first: float
    last: float


class Sinks:
    """The running sinks, seen from the benchmark."""

    def __init__(self, control: int, ports: list[int]) -> None:
        self.control = f"http://127.0.0.1:{control}"
        self.ports = ports
        self._client = httpx.AsyncClient(timeout=10)

    def inbox(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/inbox"

    async def counts(self) -> dict[int, HostCount]:
        found = (await self._client.get(self.control + "/counts")).json()
        return {int(port): HostCount(*values) for port, values in found.items()}

    async def reset(self) -> None:
        await self._client.post(self.control + "/reset")

    async def aclose(self) -> None:
        await self._client.aclose()


@asynccontextmanager
async def sinks(n: int) -> AsyncIterator[Sinks]:
    """``n`` sinks in a process of their own, stopped afterwards."""
    process = subprocess.Popen(  # noqa: ASYNC220 (started once; stopped below)
        [sys.executable, "-m", "bench.sinks", str(n)],
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        if not line:
            raise RuntimeError("the sinks did not start")
        ready = json.loads(line)
        running = Sinks(ready["control"], ready["ports"])
        try:
            yield running
        finally:
            await running.aclose()
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


def main() -> None:
    import uvloop

    uvloop.run(_serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
