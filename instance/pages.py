"""Pages for people: readable HTML for the ids browsers open."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, Response

from instance.models import Intent, Proposal
from instance.services import Services
from vocab import canonical_decimal, unit_label

__all__ = ["describe_intent", "proposal_page", "render_page"]


def render_page(svc: Services, template: str, status: int = 200, **context: Any) -> Response:
    page = svc.templates.get_template(template).render(
        instance_name=svc.settings.instance_name, host=svc.urls.host, urls=svc.urls, **context
    )
    return HTMLResponse(page, status_code=status, headers={"Vary": "Accept"})


def amount(value: Any, unit: str) -> str:
    """``10 kilogram``, ``1 one`` read as ``1``; units by their OM2 label."""
    number = canonical_decimal(value)
    return number if unit == "one" else f"{number} {unit_label(unit)}"


def describe_intent(intent: Intent) -> dict[str, str]:
    """The words a page (or a Mastodon post) uses for one intent."""
    what = intent.resource_conforms_to or ""
    return {
        "action": intent.action,
        "quantity": amount(intent.quantity, intent.unit),
        "available": amount(intent.available, intent.unit) if intent.available is not None else "",
        "what": what,
    }


async def proposal_page(
    svc: Services, session: AsyncSession, proposal: Proposal, intents: Sequence[Intent]
) -> Response:
    document = json.loads(proposal.body)
    proposer = svc.urls.username_of(proposal.proposer) or proposal.proposer
    return render_page(
        svc,
        "proposal.html",
        proposal=proposal,
        document=document,
        proposer=proposer,
        primary=[describe_intent(i) for i in intents if not i.reciprocal],
        reciprocal=[describe_intent(i) for i in intents if i.reciprocal],
    )
