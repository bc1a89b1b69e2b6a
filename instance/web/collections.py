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

from instance.negotiation import activity_response, negotiate
from instance.problems import Problem
from instance.services import services
from instance.web.pages import render_page

__all__ = ["PAGE_SIZE", "collection_page", "collection_response"]

PAGE_SIZE = 50
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


def _page_entry(item: Any) -> dict[str, str]:
    """How one item of a collection page is listed on its HTML page."""
    if isinstance(item, str):
        return {"href": item, "text": item, "kind": ""}
    if not isinstance(item, dict):
        return {"href": "", "text": str(item)[:200], "kind": ""}
    kind = item.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    target = item.get("object")
    target_id = target.get("id") if isinstance(target, dict) else target
    text = item.get("name") or (target_id if isinstance(target_id, str) else item.get("id"))
    return {
        "href": str(item.get("id") or ""),
        "text": str(text or "")[:300],
        "kind": str(kind or ""),
    }


def collection_page(
    request: Request, collection_id: str, page: dict[str, Any], total: int, title: str
) -> Response:
    """A collection page as HTML: its items as links, and the link to the next page."""
    return render_page(
        services(request),
        "collection.html",
        title=title or collection_id,
        collection_id=collection_id,
        total=total,
        entries=[_page_entry(item) for item in page.get("orderedItems", [])],
        next=page.get("next"),
    )


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
    *,
    title: str = "",
) -> Response:
    """Serve the collection of ``query``'s rows ``(row id, value)``, or one page of it.

    ``item`` turns a value into what ``orderedItems`` lists (e.g. parses stored JSON);
    ``render`` does the same when that needs the database. A browser gets the page (the
    first one, for the collection itself) as HTML, titled ``title``.
    """
    wants_page, before = _page_request(request)
    html = negotiate(request) == "html"
    if not wants_page and not html:
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
    if not document["orderedItems"]:
        del document["orderedItems"]  # an empty array is written as its absence (AS2 2)
    if len(rows) > PAGE_SIZE:
        document["next"] = f"{collection_id}?page=1&before={rows[PAGE_SIZE - 1][0]}"
    if html:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        return collection_page(request, collection_id, document, int(total or 0), title)
    return activity_response(request, document)
