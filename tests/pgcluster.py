"""A private PostgreSQL cluster for tests that stop and start it (never the shared one).

Made with Debian's ``initdb`` and ``pg_ctl`` (``/usr/lib/postgresql/<version>/bin``) in a
temporary directory, on a free loopback port, trusting local connections. PostgreSQL
refuses to run as root, so when the tests run as root the cluster runs as the
``postgres`` user (``runuser``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.processes import free_port

__all__ = ["PrivateCluster", "cluster_unavailable_reason"]

BIN = next(
    (p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)),
    Path("/usr/lib/postgresql/15/bin"),
)


def cluster_unavailable_reason() -> str | None:
    """Why a private cluster cannot be made here (None: it can)."""
    if not (BIN / "initdb").exists():
        return f"no initdb under {BIN.parent.parent} (Debian's postgresql package)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as postgres"
    return None


class PrivateCluster:
    """One PostgreSQL cluster in a directory of its own: :meth:`start`, :meth:`stop`,
    :meth:`url`, :meth:`remove` when done."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: the postgres user must reach it.
        self.root = root = Path(tempfile.mkdtemp(prefix="oce-pg-"))
        self.data = root / "pgdata"
        self.log = root / "postgresql.log"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(BIN / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(  # the test's own cluster
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(f"{tool} failed: {result.stderr}\n{log}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def remove(self) -> None:
        """Stop it if it runs, and delete its files."""
        with contextlib.suppress(AssertionError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"
