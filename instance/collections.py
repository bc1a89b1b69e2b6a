"""OrderedCollection paging, the same for every collection we serve.

A collection document gives ``totalItems`` and a link to its ``first`` page. Pages
run newest first and are keyed by row id (``?page=1&before=<id>``), so a page stays
correct while items are added, and the cost of a page does not grow with its depth.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.requests import Request
from starlette.responses import Response

from instance.negotiation import activity_response
from instance.problems import Problem

__all__ = ["PAGE_SIZE", "collection_response"]

PAGE_SIZE = 50
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


def _page_request(request: Request) -> tuple[bool, int | None]:
    """Whether a page was asked for, and the ``before`` cursor if any."""
    wants_page = request.query_params.get("page") is not None
    raw = request.query_params.get("before")
    if raw is None:
        return wants_page, None
    if not raw.isdigit() or len(raw) > 18:
        raise Problem(400, f"before={raw!r} must be a row number", field="before")
    return True, int(raw)


async def collection_response(
    request: Request,
    session: AsyncSession,
    collection_id: str,
    query: Select[int, Any],
    row_id: InstrumentedAttribute[int],
    item: Callable[[Any], Any] = lambda value: value,
    render: Callable[[Any], Awaitable[Any]] | None = None,
) -> Response:
    """Serve the collection of ``query``'s rows ``(row id, value)``, or one page of it.

    ``item`` turns a value into what ``orderedItems`` lists (e.g. parses stored JSON);
    ``render`` does the same when that needs the database.
    """
    wants_page, before = _page_request(request)
    if not wants_page:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        document: dict[str, Any] = {
            "@context": AS_CONTEXT,
            "id": collection_id,
            "type": "OrderedCollection",
            "totalItems": int(total or 0),
            "first": f"{collection_id}?page=1",
        }
        return activity_response(request, document)
    if before is not None:
        query = query.where(row_id < before)
    rows = (await session.execute(query.order_by(row_id.desc()).limit(PAGE_SIZE + 1))).all()
    page_id = f"{collection_id}?page=1" + (f"&before={before}" if before is not None else "")
    document = {
        "@context": AS_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": [
            await render(value) if render else item(value) for _, value in rows[:PAGE_SIZE]
        ],
    }
    if len(rows) > PAGE_SIZE:
        document["next"] = f"{collection_id}?page=1&before={rows[PAGE_SIZE - 1][0]}"
    return activity_response(request, document)
