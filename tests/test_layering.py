"""The one-way layering, read from the source (ast; nothing is imported).

``instance`` builds on ``federation``, which builds on ``vocab``; never the other way.
Inside ``instance``, each sub-package (``store``, ``inbox``, ``outbox``, ``ledger``,
``web``, ``handlers``) and each top-level module is one node, and the imports between
nodes must not go round in a circle, so each room can be read (and changed) knowing only
what lies below it. Imports under ``if TYPE_CHECKING:`` run only for the type checker,
so they do not count for circles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("vocab", "federation", "instance")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted (a submodule where one is named)
    line: int
    type_checking: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module or package in this repository."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, guarded: bool) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child.test):
            for inner in child.body:
                yield inner, True
                yield from _walk(inner, True)
            for inner in child.orelse:
                yield inner, guarded
                yield from _walk(inner, guarded)
        else:
            yield child, guarded
            yield from _walk(child, guarded)


def imports_of(path: Path) -> Iterator[Import]:
    """Every import in one file, at any depth (functions' lazy imports included)."""
    source = module_name(path)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node, guarded in _walk(tree, False):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(source, alias.name, node.lineno, guarded)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = {
                f"{module}.{alias.name}" if is_module(f"{module}.{alias.name}") else module
                for alias in node.names
            }
            for target in sorted(targets):
                yield Import(source, target, node.lineno, guarded)


def all_imports(package: str) -> list[Import]:
    return [found for path in sorted((ROOT / package).rglob("*.py")) for found in imports_of(path)]


def top(dotted: str) -> str:
    return dotted.split(".", 1)[0]


def node_of(dotted: str) -> str:
    """``instance.inbox.processing`` -> ``instance.inbox``; ``instance.app`` stays."""
    return ".".join(dotted.split(".")[:2])


def test_vocab_imports_neither_federation_nor_instance() -> None:
    climbing = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in all_imports("vocab")
        if top(i.target) in ("federation", "instance")
    ]
    assert climbing == []


def test_federation_imports_nothing_from_instance() -> None:
    climbing = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in all_imports("federation")
        if top(i.target) == "instance"
    ]
    assert climbing == []


def instance_graph() -> dict[tuple[str, str], list[Import]]:
    """Edges between instance's nodes, each with the imports that make it."""
    edges: dict[tuple[str, str], list[Import]] = {}
    for found in all_imports("instance"):
        if found.type_checking or top(found.target) != "instance":
            continue
        edge = (node_of(found.source), node_of(found.target))
        if edge[0] != edge[1]:
            edges.setdefault(edge, []).append(found)
    return edges


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    successors: dict[str, list[str]] = {}
    for source, target in sorted(edges):
        successors.setdefault(source, []).append(target)
        successors.setdefault(target, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in successors[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(successors):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    """The checks below see the imports that are known to be there."""
    edges = instance_graph()
    assert ("instance.app", "instance.web") in edges
    assert ("instance.handlers", "instance.inbox") in edges
    assert ("instance.inbox", "instance.store") in edges
    assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]


def test_no_cycles_between_instance_packages() -> None:
    edges = instance_graph()
    report = []
    for component in cycles(set(edges)):
        members = set(component)
        report.append(" <-> ".join(component))
        for (source, target), made_by in sorted(edges.items()):
            if source in members and target in members:
                report.extend(f"    {i.source}:{i.line} imports {i.target}" for i in made_by)
    assert report == [], "import cycles between instance's packages:\n" + "\n".join(report)
