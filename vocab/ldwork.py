"""Bounds on the JSON-LD work a document may ask for, checked before any expansion.

Expanding JSON-LD costs more than the document's size suggests: pyld processes a
scoped context again at every node that uses it, so a 45 KiB activity whose context
defines one type with a few hundred scoped terms, used by a few hundred objects, took
seven seconds. :func:`check_ld_work` counts, in one walk of the plain JSON and with no
JSON-LD processing, what expansion would do:

* **nodes**: every JSON value, each one an expansion step;
* **contexts**: every ``@context`` value (an entry of a list counts once);
* **terms**: every term an inline context defines, scoped ones included;
* **context work**: the terms defined each time a context is applied, counting a
  scoped context once per node whose type or property brings it in (what makes the
  cost quadratic).

A document beyond any bound is refused with :class:`~vocab.errors.LimitError` naming
the bound, before pyld sees it. The defaults are far above any document seen from
oce, Mastodon or the FEP examples, and keep the worst document they let through to a
fraction of a second (``python -m bench.jsonld_work``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vocab.errors import LimitError

__all__ = ["DEFAULT_LD_LIMITS", "LdLimits", "LdWork", "check_ld_work", "measure_ld_work"]


@dataclass(frozen=True, slots=True)
class LdLimits:
    """Bounds applied by :func:`check_ld_work`."""

    max_nodes: int = 10_000
    max_contexts: int = 64
    max_terms: int = 512
    max_context_work: int = 2_000


DEFAULT_LD_LIMITS = LdLimits()


@dataclass(slots=True)
class LdWork:
    """What expanding a document would do (see the module docstring)."""

    nodes: int = 0
    contexts: int = 0
    terms: int = 0
    context_work: int = 0


def check_ld_work(document: Any, limits: LdLimits = DEFAULT_LD_LIMITS) -> LdWork:
    """Refuse a document whose expansion would exceed ``limits``; return what it costs."""
    work = measure_ld_work(document, limits)
    for name, bound, what in (
        ("nodes", limits.max_nodes, "JSON values"),
        ("contexts", limits.max_contexts, "@context values"),
        ("terms", limits.max_terms, "term definitions in inline contexts"),
        ("context_work", limits.max_context_work, "term definitions applied while expanding"),
    ):
        if getattr(work, name) > bound:
            raise LimitError(
                "@context" if name != "nodes" else "",
                f"the document needs more JSON-LD work than oce does for one document: "
                f"more than {bound} {what}",
            )
    return work


def measure_ld_work(document: Any, limits: LdLimits = DEFAULT_LD_LIMITS) -> LdWork:
    """Count the work of :func:`check_ld_work`; stops early once a bound is passed."""
    work = LdWork(nodes=1)
    scoped: dict[str, int] = {}  # term name -> terms its scoped context defines
    typed_nodes: list[Mapping[str, Any]] = []
    # Only containers go on the stack; scalars are counted where they are met.
    stack: list[Any] = [document] if isinstance(document, (Mapping, list)) else []
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            work.nodes += len(value)
            stack.extend(v for v in value if isinstance(v, (dict, list, Mapping)))
        else:
            context = value.get("@context")
            if context is not None:
                work.nodes -= 1  # counted with its siblings, but it is no expansion step
                work.context_work += _context(context, work, scoped)
                if work.terms > limits.max_terms or work.contexts > limits.max_contexts:
                    return work
            typed_nodes.append(value)
            work.nodes += len(value)
            stack.extend(
                v
                for k, v in value.items()
                if k != "@context" and isinstance(v, (dict, list, Mapping))
            )
        if work.nodes > limits.max_nodes:
            return work
    if scoped:
        for node in typed_nodes:
            for key in node:
                work.context_work += scoped.get(key, 0)
            kinds = node.get("type", node.get("@type"))
            for kind in kinds if isinstance(kinds, list) else [kinds]:
                if isinstance(kind, str):
                    work.context_work += scoped.get(kind, 0)
            if work.context_work > limits.max_context_work:
                break
    return work


def _context(context: Any, work: LdWork, scoped: dict[str, int]) -> int:
    """Count one ``@context`` value; returns the terms it defines (scoped ones included)."""
    defined = 0
    for entry in context if isinstance(context, list) else [context]:
        work.contexts += 1
        if not isinstance(entry, Mapping):
            defined += 1  # a bundled context: processed once, then cached
            continue
        for term, definition in entry.items():
            if term.startswith("@"):
                continue
            work.terms += 1
            defined += 1
            if isinstance(definition, Mapping) and definition.get("@context") is not None:
                size = _context(definition["@context"], work, scoped)
                scoped[term] = scoped.get(term, 0) + size
                defined += size
    return defined
