"""``oce export`` and ``oce import``: the command-line side of moving an agent."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from instance.commands.common import command_session
from instance.portability.export import export_agent
from instance.portability.importer import Imported, import_agent, read_export
from instance.portability.ocp import OcpImported, import_ocp
from instance.problems import Problem
from instance.settings import Settings
from instance.urls import Urls

__all__ = ["add_commands"]


class _Progress:
    """Counts on standard error, at most a few lines a second."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.started = time.monotonic()
        self.shown = 0.0

    def __call__(self, table: str, count: int) -> None:
        now = time.monotonic()
        if now - self.shown >= 0.5:
            self.shown = now
            print(f"{self.verb} {table}: {count} rows", file=sys.stderr, flush=True)

    def done(self, counts: dict[str, int]) -> None:
        total = sum(counts.values())
        listed = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
        took = time.monotonic() - self.started
        print(f"{self.verb} {total} records in {took:.1f} s ({listed or 'none'})", file=sys.stderr)


async def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    progress = _Progress("exported")
    async with command_session(settings, write=False) as session:
        counts = await export_agent(
            session,
            Urls(settings.base_url),
            args.username,
            sys.stdout,
            with_keys=args.with_keys,
            progress=progress,
        )
    progress.done(counts)
    if args.with_keys:
        print("the export holds the agent's private keys: keep it secret", file=sys.stderr)
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise Problem(400, f"{path} is not a file", field="file")
    progress = _Progress("imported")
    with path.open(encoding="utf-8") as source:
        head, records = read_export(source)

        async def run() -> Imported:
            async with command_session(settings, write=True) as session:
                return await import_agent(
                    session,
                    Urls(settings.base_url),
                    head,
                    records,
                    username=args.username,
                    progress=progress,
                )

        done = asyncio.run(run())
    progress.done(done.counts)
    print(done.actor, flush=True)
    print(
        f"{done.actor} is also known as {done.old_actor}; send the Move from there to bring "
        "its followers",
        file=sys.stderr,
    )
    return 0


def cmd_import_ocp(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise Problem(400, f"{path} is not a file", field="file")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(400, f"{path} is not JSON: {exc}", field="file") from None
    units: dict[str, str] = {}
    for pair in args.unit or []:
        name, _, om2 = pair.partition("=")
        if not name or not om2:
            raise Problem(400, f"--unit {pair!r} must read ABBREV=om2id", field="unit")
        units[name] = om2

    async def run() -> OcpImported:
        async with command_session(settings, write=True) as session:
            return await import_ocp(session, Urls(settings.base_url), records, units=units)

    done = asyncio.run(run())
    for name in done.agents:
        print(Urls(settings.base_url).actor(name), flush=True)
    made = ", ".join(f"{n} {what}" for what, n in done.counts.items())
    print(f"imported {len(done.agents)} agents, {made or 'nothing else'}", file=sys.stderr)
    for what, n in sorted(done.skipped.items()):
        if n:
            print(f"not imported: {n} {what}", file=sys.stderr)
    return 0


def add_commands(sub: Any) -> None:
    """Add ``export`` and ``import`` to the ``oce`` command's sub-parsers."""
    export = sub.add_parser(
        "export", help="write everything an agent has as one JSON-LD document (standard output)"
    )
    export.add_argument("username")
    export.add_argument("--with-keys", action="store_true", help="include the agent's private keys")
    export.set_defaults(handler=cmd_export)
    imported = sub.add_parser("import", help="rebuild an exported agent on this instance")
    imported.add_argument("file", help="the document oce export wrote")
    imported.add_argument("--as", dest="username", help="another username for it here")
    imported.set_defaults(sync_handler=cmd_import)
    ocp = sub.add_parser(
        "import-ocp", help="create agents, resources and events from an OCP dumpdata export"
    )
    ocp.add_argument("file", help="python manage.py dumpdata valueaccounting > ocp.json")
    ocp.add_argument(
        "--unit", action="append", metavar="ABBREV=OM2", help="map an OCP unit to an OM2 id"
    )
    ocp.set_defaults(sync_handler=cmd_import_ocp)
