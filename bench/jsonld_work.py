"""What the JSON-LD work bounds cost and what they save (issue 11, defect 5).

Prints, for each document: its size, the work :func:`vocab.check_ld_work` counts, the
time to check the bounds, and the time to normalize it (or "refused"):

* typical: a Create{Proposal} as oce writes it, and a Mastodon-style Create{Note}
  with its inline context;
* bounded worst: the most expensive shapes the default bounds still let through (a
  type-scoped context used just under the work bound, 10,000 nodes through pyld and
  through the fast path);
* attacks: the shape that froze an instance before the bounds (type-scoped contexts
  used many times: 23 KiB of it took 8.6 s to normalize), now refused by the check.

Then the longest the event loop stalled while :func:`instance.normalizing.normalize_bounded`
worked through the bounded-worst documents in its thread (a 1 ms ticker's largest gap).

    PYTHONPATH=. python -m bench.jsonld_work [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from instance.normalizing import normalize_bounded
from vocab import LimitError, check_ld_work, normalize

AS = "https://www.w3.org/ns/activitystreams"
MASTODON_CONTEXT = {
    "ostatus": "http://ostatus.org#",
    "atomUri": "ostatus:atomUri",
    "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
    "conversation": "ostatus:conversation",
    "sensitive": "as:sensitive",
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "Hashtag": "as:Hashtag",
    "Emoji": "toot:Emoji",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
}


def oce_proposal(n: int) -> dict[str, Any]:
    origin = "https://oce.example"
    return {
        "@context": [AS, origin + "/ns/oce-v1.jsonld"],
        "id": f"{origin}/activities/{n}",
        "type": "Create",
        "actor": f"{origin}/agents/alice",
        "to": [AS + "#Public"],
        "object": {
            "id": f"{origin}/proposals/{n}",
            "type": "Proposal",
            "attributedTo": f"{origin}/agents/alice",
            "name": "Rye bread",
            "purpose": "offer",
            "unitBased": True,
            "publishes": {
                "id": f"{origin}/proposals/{n}#primary",
                "type": "Intent",
                "action": "transfer",
                "resourceConformsTo": "https://www.wikidata.org/wiki/Q7802",
                "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "5"},
            },
        },
    }


def mastodon_note(n: int) -> dict[str, Any]:
    origin = "https://mastodon.example"
    return {
        "@context": [AS, "https://w3id.org/security/v1", MASTODON_CONTEXT],
        "id": f"{origin}/users/bob/statuses/{n}/activity",
        "type": "Create",
        "actor": f"{origin}/users/bob",
        "to": [AS + "#Public"],
        "object": {
            "id": f"{origin}/users/bob/statuses/{n}",
            "type": "Note",
            "attributedTo": f"{origin}/users/bob",
            "content": "<p>Hello, fediverse</p>",
            "sensitive": False,
            "tag": [{"type": "Hashtag", "href": f"{origin}/tags/bread", "name": "#bread"}],
        },
    }


def scoped(terms: int, nodes: int) -> dict[str, Any]:
    """A type whose scoped context has ``terms`` terms, used by ``nodes`` objects."""
    context = {f"t{i}": f"https://peer.example/ns#t{i}" for i in range(terms)}
    return {
        "@context": [AS, {"T": {"@id": "https://peer.example/ns#T", "@context": context}}],
        "id": "https://peer.example/activities/1",
        "type": "Create",
        "actor": "https://peer.example/users/mallory",
        "object": {
            "id": "https://peer.example/notes/1",
            "type": "Note",
            "attachment": [{"type": "T", "t1": "x"} for _ in range(nodes)],
        },
    }


def many_nodes(count: int, *, pyld: bool) -> dict[str, Any]:
    """About ``count`` JSON values; ``pyld`` adds an unused scoped term (no fast path)."""
    document = scoped(1, 0) if pyld else scoped(0, 0)
    if not pyld:
        document["@context"] = [AS]
    document["object"]["attachment"] = [{"type": "Note", "content": "y"} for _ in range(count // 3)]
    return document


def timed(work: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def row(name: str, document: dict[str, Any], repeat: int) -> None:
    size = len(json.dumps(document))
    try:
        work = check_ld_work(document)
    except LimitError:
        check = timed(lambda: _refused(document), repeat)
        print(f"{name:<34} {size / 1024:7.1f} KiB  check {check * 1000:7.2f} ms  refused")
        return
    check = timed(lambda: check_ld_work(document), repeat)
    spent = timed(lambda: normalize(document), repeat)
    print(
        f"{name:<34} {size / 1024:7.1f} KiB  check {check * 1000:7.2f} ms  "
        f"normalize {spent * 1000:8.2f} ms  ({work.nodes} nodes, "
        f"{work.context_work} context work)"
    )


def _refused(document: dict[str, Any]) -> None:
    try:
        check_ld_work(document)
    except LimitError:
        return


async def loop_stall(documents: list[dict[str, Any]]) -> float:
    """The event loop's longest gap while the documents normalize in their thread."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    for document in documents:
        await normalize_bounded(document)
    done.set()
    await task
    return max(gaps) if gaps else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    args = parser.parse_args()
    worst = [scoped(44, 44), many_nodes(9_900, pyld=True), many_nodes(9_900, pyld=False)]
    print("typical")
    row("  oce Create{Proposal}", oce_proposal(1), args.repeat)
    row("  Mastodon Create{Note}", mastodon_note(1), args.repeat)
    print("bounded worst (accepted)")
    row("  type-scoped, 44 terms x 44 uses", worst[0], args.repeat)
    row("  10,000 nodes through pyld", worst[1], args.repeat)
    row("  10,000 nodes, fast path", worst[2], args.repeat)
    print("attacks (refused before any expansion)")
    row("  type-scoped, 400 terms x 300 uses", scoped(400, 300), args.repeat)
    row("  type-scoped, 700 terms x 1000 uses", scoped(700, 1000), args.repeat)
    stall = asyncio.run(loop_stall(worst))
    print(f"event loop's longest stall while the bounded worst normalize: {stall * 1000:.1f} ms")


if __name__ == "__main__":
    main()
