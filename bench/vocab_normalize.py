"""How many inbound documents per second ``vocab`` normalizes on one core.

A mix of realistic documents, each kind a few hundred distinct documents (ids,
amounts, actions and units vary; contexts repeat, as they do between real peers):

* compact: what oce instances send (AS + oce context URL), and the FEP-0837/3264/c5a1
  examples with their own inline contexts;
* legacy: the same with the legacy namespaces, kebab-case actions, ``ValueFlows:``
  types and ``om2:`` units;
* expanded: fully expanded JSON-LD, every term a full IRI.

Prints documents per second for ``normalize`` per kind and overall, for the whole
inbox path (``loads`` + ``normalize`` + typed ``read``) on the same mix, and, for
comparison, for documents that need pyld (outside the fast path's subset).

    PYTHONPATH=. python -m bench.vocab_normalize
"""

from __future__ import annotations

import argparse
import copy
import gc
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vocab import dumps, loads, normalize, parse_object, read, write
from vocab.expansion import _expand_with_pyld

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "vocab" / "fixtures"
VF = "https://w3id.org/valueflows/ont/vf#"
SECONDS_PER_KIND = 2.0
DOCUMENTS_PER_KIND = 300
ACTIONS = ["transfer", "deliverService", "produce", "consume", "use", "work"]
KEBAB = {"deliverService": "deliver-service", "transfer": "transfer-all-rights"}
UNITS = ["one", "kilogram", "litre", "hour", "metre"]


def _fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = loads((FIXTURES / name).read_bytes())
    return document


def _varied(template: dict[str, Any], n: int, rng: random.Random) -> dict[str, Any]:
    """A copy of ``template`` with its ids and amounts made unique."""
    text = dumps(template)
    text = text.replace("ddde9d6f", f"{n:08x}").replace("ad2f7ee1", f"{n + 7:08x}")
    document: dict[str, Any] = loads(text)
    stack: list[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "hasNumericalValue" in node:
                node["hasNumericalValue"] = str(rng.randint(1, 500)) + rng.choice(["", ".5"])
            stack.extend(v for k, v in node.items() if k != "@context")
        elif isinstance(node, list):
            stack.extend(node)
    return document


def _oce_proposal(n: int, rng: random.Random) -> dict[str, Any]:
    """A Create{Proposal} as an oce instance writes it."""
    origin = f"https://oce{n % 5}.example"
    action = rng.choice(["transfer", "deliverService"])
    unit = rng.choice(UNITS[:3])
    proposal = read(
        {
            "@context": ["https://www.w3.org/ns/activitystreams", origin + "/ns/oce-v1.jsonld"],
            "type": "Proposal",
            "id": f"{origin}/proposals/{n}",
            "attributedTo": f"{origin}/agents/{n % 17}",
            "name": f"Offer number {n}",
            "content": "<p>Fresh bread, baked this morning.</p>",
            "published": "2024-05-01T10:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [f"{origin}/agents/{n % 17}/followers"],
            "purpose": rng.choice(["offer", "request"]),
            "unitBased": True,
            "publishes": {
                "type": "Intent",
                "id": f"{origin}/proposals/{n}#primary",
                "action": action,
                "resourceConformsTo": "https://www.wikidata.org/wiki/Q7802",
                "resourceQuantity": {"hasUnit": unit, "hasNumericalValue": str(n % 9 + 1)},
                "availableQuantity": {"hasUnit": unit, "hasNumericalValue": "40"},
            },
            "reciprocal": {
                "type": "Intent",
                "id": f"{origin}/proposals/{n}#reciprocal",
                "action": "transfer",
                "resourceConformsTo": "https://www.wikidata.org/wiki/Q4916",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": f"{n % 30}.50"},
            },
        }
    )
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", origin + "/ns/oce-v1.jsonld"],
        "type": "Create",
        "id": f"{origin}/activities/{n}",
        "actor": f"{origin}/agents/{n % 17}",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {k: v for k, v in write(proposal, origin).items() if k != "@context"},
    }


def _oce_event(n: int, rng: random.Random) -> dict[str, Any]:
    origin = f"https://oce{n % 5}.example"
    action = rng.choice(ACTIONS)
    quantity_key = "effortQuantity" if action == "work" else "resourceQuantity"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", origin + "/ns/oce-v1.jsonld"],
        "type": "Create",
        "id": f"{origin}/activities/e{n}",
        "actor": f"{origin}/agents/{n % 17}",
        "to": [f"https://peer.example/agents/{n % 11}"],
        "object": {
            "type": "EconomicEvent",
            "id": f"{origin}/events/{n}",
            "attributedTo": f"{origin}/agents/{n % 17}",
            "action": action,
            "provider": f"{origin}/agents/{n % 17}",
            "receiver": f"https://peer.example/agents/{n % 11}",
            "fulfills": f"https://peer.example/commitments/{n}",
            quantity_key: {
                "hasUnit": "hour" if action == "work" else rng.choice(UNITS),
                "hasNumericalValue": str(rng.randint(1, 90)),
            },
            "hasPointInTime": "2024-06-01T08:30:00Z",
        },
    }


FEP_EXAMPLES = [
    "fep0837-proposal-full.json",
    "fep0837-offer-agreement.json",
    "fep0837-accept-agreement.json",
    "fep3264-create-commitment.json",
    "fep3264-create-event.json",
    "fepc5a1-create-commitment.json",
    "fepc5a1-create-event.json",
    "fep0837-reject.json",
]


def compact_documents(rng: random.Random) -> list[dict[str, Any]]:
    """Documents as oce and the FEP implementations send them."""
    templates = [_fixture(name) for name in FEP_EXAMPLES]
    documents: list[dict[str, Any]] = []
    for n in range(DOCUMENTS_PER_KIND):
        if n % 3 == 0:
            documents.append(_oce_proposal(n, rng))
        elif n % 3 == 1:
            documents.append(_oce_event(n, rng))
        else:
            documents.append(_varied(templates[n % len(templates)], n, rng))
    return documents


def _legacy(document: dict[str, Any], n: int) -> dict[str, Any]:
    text = dumps(document)
    namespace = "https://w3id.org/valueflows#" if n % 2 else "https://w3id.org/valueflows/"
    text = text.replace(VF, namespace)
    for camel, kebab in KEBAB.items():
        text = text.replace(f'"action":"{camel}"', f'"action":"{kebab}"')
    text = text.replace('"hasUnit":"one"', '"hasUnit":"om2:one"')
    legacy: dict[str, Any] = loads(text)
    context = legacy.get("@context")
    if isinstance(context, list) and len(context) > 1 and isinstance(context[1], dict):
        context[1]["ValueFlows"] = namespace
        for key in ("type",):
            obj = legacy.get("object")
            if isinstance(obj, dict) and obj.get(key) in ("Commitment", "EconomicEvent"):
                obj[key] = "ValueFlows:" + obj[key]
    return legacy


def legacy_documents(rng: random.Random) -> list[dict[str, Any]]:
    """FEP-shaped documents in older spellings."""
    templates = [_fixture(name) for name in FEP_EXAMPLES[:7]]
    return [
        _legacy(_varied(templates[n % len(templates)], n, rng), n)
        for n in range(DOCUMENTS_PER_KIND)
    ]


def expanded_documents(compact: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The compact documents as fully expanded JSON-LD (every term a full IRI)."""
    result = []
    for document in compact:
        (node,) = _expand_with_pyld(document)
        result.append(node)
    return result


def fallback_documents(compact: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Documents beyond the fast path's subset (a language map): pyld expands them."""
    result = []
    for document in compact[:100]:
        changed = copy.deepcopy(document)
        changed["summaryMap"] = {"en": "In English", "fr": "En français"}
        result.append(changed)
    return result


def rate(function: Callable[[Any], Any], documents: list[Any], seconds: float) -> float:
    """Documents per second over whole passes of ``documents`` for about ``seconds``."""
    for document in documents[:20]:
        function(document)  # warm the context caches, as a running server has
    gc.collect()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for document in documents:
            function(document)
        count += len(documents)
    return count / (time.perf_counter() - start)


def inbox_path(raw: bytes) -> Any:
    """What the inbox does with a body: strict parse, normalize, typed object."""
    normalized = normalize(loads(raw))
    obj = normalized.get("object", normalized)
    if isinstance(obj, dict) and obj.get("type") not in (None, "Document"):
        return parse_object(obj)
    return normalized


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_KIND, help="per kind")
    seconds = parser.parse_args().seconds
    rng = random.Random(837)
    compact = compact_documents(rng)
    kinds = {
        "compact": compact,
        "legacy": legacy_documents(rng),
        "expanded": expanded_documents(compact),
    }
    for documents in kinds.values():
        for document in documents:
            normalize(copy.deepcopy(document))  # every document is valid
    print(f"vocab.normalize, one core, {DOCUMENTS_PER_KIND} distinct documents per kind")
    total_docs = 0.0
    total_time = 0.0
    for name, documents in kinds.items():
        per_second = rate(normalize, documents, seconds)
        total_docs += len(documents)
        total_time += len(documents) / per_second
        print(f"  {name:<9} {per_second:>8,.0f} docs/s")
    mix = [d for documents in kinds.values() for d in documents]
    rng.shuffle(mix)
    print(f"  {'mix':<9} {rate(normalize, mix, seconds):>8,.0f} docs/s")
    print(f"  {'overall':<9} {total_docs / total_time:>8,.0f} docs/s (harmonic, equal shares)")
    raw = [dumps(d).encode() for d in mix]
    per_second = rate(inbox_path, raw, seconds)
    print(f"inbox path (loads + normalize + read) on the mix: {per_second:,.0f} docs/s")
    per_second = rate(normalize, fallback_documents(compact), seconds)
    print(f"pyld fallback (a language map sends a document there): {per_second:,.0f} docs/s")


if __name__ == "__main__":
    main()
