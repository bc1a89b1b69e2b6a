"""One session per task, never held while waiting: read from the code itself.

``Database.read()``/``write()`` refuse a second session to a task that holds one (at
run time, see :mod:`instance.store.db`). What they cannot see is a session held while
the task waits for something that is not a session: a remote server, the client's
body, the blocklist's reload, the inbox writer. This test reads every module of
``instance/`` and refuses any ``await`` of such a wait inside a block that holds a
session (``async with …db.read()``, ``…db.write()``, ``ctx.apply()``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from tests.processes import ROOT

#: What a task must not wait for while it holds a session, by the dotted name awaited.
WAITS = {
    "another session": r"(^|\.)db\.(read|write|write_turn)$",
    "the reader's credentials": (
        r"(^|\.)(reader|client_agent|require_owner|signed_actor|verified_request)$"
    ),
    "a remote server": (
        r"(^|\.)(peers|fetcher|http)\.|(^|\.)(fetch_object|post_activity|learn_servers|"
        r"ensure_specification|prefetch_addressees|audit)$"
    ),
    "the client's body": r"(^|\.)(request\.(body|stream|json|form)|read_body)$",
    "a shared process resource": r"(^|\.)(blocklist|inbox_store)\.",
    "time passing": r"(^|\.)asyncio\.sleep$",
}
_SESSION = re.compile(r"(^|\.)(db\.(read|write)|apply)$")


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return "?"


def _holds_session(node: ast.AsyncWith) -> bool:
    return any(
        isinstance(item.context_expr, ast.Call) and _SESSION.search(_dotted(item.context_expr))
        for item in node.items
    )


@dataclass(frozen=True)
class Wait:
    where: str
    awaited: str
    what: str


def _awaited(node: ast.AST) -> str | None:
    """The dotted name a node waits for: an awaited call, or an ``async with`` entered."""
    if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
        return _dotted(node.value.func)
    if isinstance(node, ast.AsyncWith):
        for item in node.items:
            if isinstance(item.context_expr, ast.Call):
                return _dotted(item.context_expr.func)
    return None


def _kind_of_wait(name: str, waiting_helpers: dict[str, str]) -> str | None:
    for what, pattern in WAITS.items():
        if re.search(pattern, name):
            return what
    return waiting_helpers.get(name)


def _waiting_helpers(tree: ast.Module) -> dict[str, str]:
    """The module's own functions that wait for one of :data:`WAITS` (directly or
    through another of them): awaiting one of those waits as much."""
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef)]
    helpers: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for function in functions:
            if function.name in helpers:
                continue
            for node in ast.walk(function):
                name = _awaited(node)
                what = _kind_of_wait(name, helpers) if name else None
                if what is not None:
                    helpers[function.name] = f"{what}, through {function.name}"
                    changed = True
                    break
    return helpers


def _waits_in(path: Path, root: Path = ROOT) -> list[Wait]:
    """Every wait of :data:`WAITS` awaited in ``path`` inside a block holding a session."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    helpers = _waiting_helpers(tree)
    found: list[Wait] = []
    for block in ast.walk(tree):
        if not isinstance(block, ast.AsyncWith) or not _holds_session(block):
            continue
        for statement in block.body:
            for node in ast.walk(statement):
                name = _awaited(node)
                what = _kind_of_wait(name, helpers) if name else None
                if name is not None and what is not None:
                    line = getattr(node, "lineno", block.lineno)
                    found.append(Wait(f"{path.relative_to(root)}:{line}", name, what))
    return found


def test_no_session_is_held_while_waiting_for_anything_else() -> None:
    found = [wait for path in sorted((ROOT / "instance").rglob("*.py")) for wait in _waits_in(path)]
    assert found == [], "\n".join(
        f"{w.where}: awaits {w.awaited} ({w.what}) while holding a session" for w in found
    )


def test_the_reading_finds_such_a_wait(tmp_path: Path) -> None:
    """The check itself, on the shape of the ledger route that once stalled the pool."""
    example = tmp_path / "example.py"
    example.write_text(
        "async def record(svc, request):\n"
        "    async with svc.db.read() as session:\n"
        "        row = await session.scalar(query)\n"
        "        if await reader(svc, request) not in row.parties:\n"
        "            raise Hidden()\n"
        "        key = await svc.peers.keys.get(row.key)\n"
        "        await _viewer(svc, request)\n"
        "    await reader(svc, request)\n"
        "async def _viewer(svc, request):\n"
        "    return await reader(svc, request)\n"
    )
    found = _waits_in(example, tmp_path)
    assert [(w.where, w.awaited, w.what) for w in found] == [
        ("example.py:4", "reader", "the reader's credentials"),
        ("example.py:6", "svc.peers.keys.get", "a remote server"),
        ("example.py:7", "_viewer", "the reader's credentials, through _viewer"),
    ]
