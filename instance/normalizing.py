"""JSON-LD normalization off the event loop, with a time limit.

:func:`vocab.normalize` is pure CPU work. Its cost is bounded before it starts
(:mod:`vocab.ldwork` refuses documents that ask for too much), but even a bounded
document may take a good part of a second through pyld on a busy machine, and on the
event loop that second would stall every request. So every document a peer or client
sends is normalized here: in one dedicated thread (pyld's caches are not made for
threads, and one thread keeps a burst of heavy documents from taking both cores), and
given up after :data:`TIME_LIMIT` with :class:`~vocab.errors.LimitError`, which callers
refuse like any bound (a 400, or an inbox item finished as refused).

The thread cannot be interrupted: a document that times out finishes its work in the
background, which the bounds keep short, while its caller has already moved on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from vocab import normalize
from vocab.errors import LimitError

__all__ = ["TIME_LIMIT", "normalize_bounded", "off_loop"]

#: Seconds a document may take to normalize, waiting for the thread included.
TIME_LIMIT = 10.0

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _thread() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oce-jsonld")
        return _executor


async def off_loop(work: Callable[[], T], *, limit: float = TIME_LIMIT) -> T:
    """Run JSON-LD ``work`` in the normalizing thread; LimitError after ``limit`` s."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(_thread(), work)
    try:
        return await asyncio.wait_for(future, limit)
    except TimeoutError:
        raise LimitError(
            "", f"reading the document's JSON-LD took longer than {limit:g} seconds"
        ) from None


async def normalize_bounded(
    document: Mapping[str, Any], *, limit: float = TIME_LIMIT
) -> dict[str, Any]:
    """:func:`vocab.normalize` off the event loop, within the time limit."""
    return await off_loop(lambda: normalize(document), limit=limit)
