"""Reading ValueFlows documents that clients post and peers send, with errors as 400s."""

from __future__ import annotations

from typing import Any, TypeVar

from instance.normalizing import normalize_bounded
from instance.outbox.c2s import Submission
from instance.problems import Problem
from vocab import ASObject, VocabError, outgoing_context, parse_object

__all__ = ["client_document", "typed"]

T = TypeVar("T", bound=ASObject)


def typed(document: Any, kind: type[T], field: str) -> T:
    """The typed object of (already normalized) JSON, or a 400 naming what is wrong."""
    if not isinstance(document, dict):
        raise Problem(400, f"expected an embedded {kind.__name__}", field=field)
    try:
        found = parse_object(document)
    except VocabError as exc:
        raise Problem(400, str(exc), field=f"{field}{exc.field}") from None
    if not isinstance(found, kind):
        raise Problem(400, f"expected a {kind.__name__}", field=f"{field}.type")
    return found


async def client_document(sub: Submission) -> dict[str, Any]:
    """The client's activity in canonical form. A client that sends no ``@context``
    means ours (ActivityStreams and the oce ValueFlows terms)."""
    document = sub.activity
    if "@context" not in document:
        document = {"@context": outgoing_context(sub.svc.urls.base), **document}
    try:
        return await normalize_bounded(document)
    except VocabError as exc:
        raise Problem(400, str(exc), field=exc.field or "object") from None
