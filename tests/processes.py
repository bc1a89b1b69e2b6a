"""Real ``oce`` processes on loopback ports, for end-to-end tests.

Each instance is ``python -m instance.cli serve`` in its own process with its own
database, on a free 127.0.0.1 port, with ``OCE_ALLOW_PRIVATE_NETWORK=1`` so instances
on one machine may federate. Output goes to a log file the test can show on failure.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def oce(
    *args: str, env: Mapping[str, str], timeout: float = 60, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run one ``oce`` command to completion."""
    result = subprocess.run(
        [sys.executable, "-m", "instance.cli", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"oce {' '.join(args)} failed: {result.stderr}")
    return result


@dataclass
class Process:
    """One running ``oce serve`` (or ``oce worker``)."""

    name: str
    base_url: str
    env: dict[str, str]
    log: Path
    args: tuple[str, ...] = ("serve",)
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, wait: bool = True) -> None:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(  # the test owns it; stopped in stop()
            [sys.executable, "-m", "instance.cli", *self.args],
            env={**os.environ, "PYTHONPATH": str(ROOT), **self.env},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        if wait and self.args[0] == "serve":
            self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/nodeinfo/2.1", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the process still holds its port but answers nothing."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGCONT)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Read this instance's SQLite database directly (what it stored, as stored)."""
        path = self.env["OCE_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
        with sqlite3.connect(path, timeout=30) as connection:
            return connection.execute(sql).fetchall()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run another ``oce`` command against this instance's settings."""
        return oce(*args, env=self.env, check=check)


def instance_env(base_url: str, database_url: str, **extra: str) -> dict[str, str]:
    port = base_url.rsplit(":", 1)[1]
    return {
        "OCE_BASE_URL": base_url,
        "OCE_DATABASE_URL": database_url,
        "OCE_HOST": "127.0.0.1",
        "OCE_PORT": port,
        "OCE_ALLOW_PRIVATE_NETWORK": "1",
        "OCE_LOG_LEVEL": "info",
        # A task asking for a second database session fails loudly (instance.store.db).
        "OCE_STRICT_SESSIONS": "1",
        **extra,
    }


@contextmanager
def serving(name: str, database_url: str, tmp_path: Path, **extra: str) -> Iterator[Process]:
    """Start one instance and stop it when the block ends."""
    base_url = f"http://127.0.0.1:{free_port()}"
    process = Process(
        name, base_url, instance_env(base_url, database_url, **extra), tmp_path / f"{name}.log"
    )
    try:
        process.start()  # inside: one that never gets ready is stopped too
        yield process
    finally:
        process.stop()


@contextmanager
def serving_together(tmp_path: Path, *instances: tuple[str, str]) -> Iterator[list[Process]]:
    """Start several instances (name, database URL) at once, rather than one after the
    other: they start in the time of the slowest. Stopped when the block ends."""
    processes = []
    for name, database_url in instances:
        base_url = f"http://127.0.0.1:{free_port()}"
        env = instance_env(base_url, database_url)
        processes.append(Process(name, base_url, env, tmp_path / f"{name}.log"))
    try:
        for process in processes:
            process.start(wait=False)
        for process in processes:
            process.wait_ready(timeout=60)
        yield processes
    finally:
        for process in processes:
            process.stop()
