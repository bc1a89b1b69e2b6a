"""OrderedCollection paging, the same for every collection we serve.

A collection document gives ``totalItems`` and a link to its ``first`` page. Pages
run newest first and are keyed by row id (``?page=1&before=<id>``), so a page stays
correct while items are added, and the cost of a page does not grow with its depth.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request

from instance.problems import Problem

__all__ = ["PAGE_SIZE", "Page", "collection_document", "page_document", "page_request"]

PAGE_SIZE = 50
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"

#: (row id, the item as it appears in ``orderedItems``), newest first.
Page = Sequence[tuple[int, Any]]
PageLoader = Callable[[int | None, int], Awaitable[Page]]


def page_request(request: Request) -> tuple[bool, int | None]:
    """Whether a page was asked for, and the ``before`` cursor if any."""
    wants_page = request.query_params.get("page") is not None
    raw = request.query_params.get("before")
    if raw is None:
        return wants_page, None
    if not raw.isdigit() or len(raw) > 18:
        raise Problem(400, f"before={raw!r} must be a row number", field="before")
    return True, int(raw)


def collection_document(collection_id: str, total: int) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": f"{collection_id}?page=1",
    }


async def page_document(collection_id: str, before: int | None, load: PageLoader) -> dict[str, Any]:
    """One page of a collection, with ``next`` when more items follow."""
    rows = await load(before, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    page_id = f"{collection_id}?page=1" + (f"&before={before}" if before is not None else "")
    document: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": [item for _, item in rows],
    }
    if more:
        document["next"] = f"{collection_id}?page=1&before={rows[-1][0]}"
    return document
