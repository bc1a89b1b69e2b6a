"""Pages for one agreement, commitment, event or resource, for its parties.

The same URLs answer ActivityStreams JSON to clients; a browser of a signed-in party
gets these pages instead (anyone else gets the same 404 as before).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from instance.services import Services
from instance.store.models import (
    Agreement,
    Commitment,
    EconomicEvent,
    EconomicResource,
)
from instance.web.app.charts import step_chart
from instance.web.app.formatting import Format
from instance.web.app.locales import translations
from instance.web.app.overview import agreement_terms, history, kind_label, kind_names, quantity
from instance.web.app.sessions import SignedIn
from instance.web.pages import render_page

__all__ = ["RECORD_TEXTS", "Line", "record_page"]

#: The texts these pages write from here (labels and titles), for the catalogues; the
#: template translates each label, the titles are translated here.
RECORD_TEXTS = (
    "State", "What", "Quantity", "Fulfilled", "Provider", "Receiver", "Due", "Note",
    "Agreement", "Proposer", "Counterparty", "Proposal", "Agreed", "Reason", "Terms",
    "When", "Fulfils", "Signed by", "Kind", "Accounting", "On hand", "Mutual credit", "yes",
    "Commitment: %(what)s", "Agreement with %(who)s", "Event: %(what)s",
    "%(action)s %(amount)s to %(who)s",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Line:
    """One row of a record's table: a label, a text, and a link when it has one."""

    label: str
    text: str
    href: str | None = None


def _link(fmt: Format, label: str, uri: str | None) -> Line | None:
    return (
        Line(label, fmt.who(uri) if "/agents/" in (uri or "") else uri or "", uri) if uri else None
    )


@dataclass(frozen=True, slots=True)
class ToFulfil:
    """A commitment of mine still open: what the delivery-or-payment form needs."""

    uri: str
    what: str
    remaining: str


def _to_fulfil(rows: Sequence[Commitment], myself: str, fmt: Format) -> list[ToFulfil]:
    text = translations(fmt.language).gettext
    return [
        ToFulfil(
            c.uri,
            text("%(action)s %(amount)s to %(who)s")
            % {
                "action": c.action,
                "amount": fmt.qty(c.quantity, c.unit),
                "who": fmt.who(c.receiver),
            },
            fmt.qty(c.quantity - c.fulfilled, c.unit),
        )
        for c in rows
        if c.provider == myself and c.state == "accepted"
    ]


async def record_page(
    svc: Services,
    session: AsyncSession,
    kind: str,
    row: Any,
    me: SignedIn,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
    language: str = "en",
) -> Response:
    fmt = Format(svc.urls, language)
    text = translations(language).gettext
    myself = svc.urls.actor(me.actor.username)
    lines: list[Line | None] = []
    context: dict[str, Any] = {}
    if isinstance(row, Commitment):
        names = await kind_names(session, [row.resource_conforms_to])
        title = text("Commitment: %(what)s") % {
            "what": f"{row.action} {fmt.qty(row.quantity, row.unit)}"
        }
        lines += [
            Line("State", row.state),
            Line("What", kind_label(row.resource_conforms_to, names)),
            Line("Quantity", fmt.qty(row.quantity, row.unit)),
            Line("Fulfilled", fmt.qty(row.fulfilled, row.unit)),
            _link(fmt, "Provider", row.provider),
            _link(fmt, "Receiver", row.receiver),
            Line("Due", fmt.when(row.due)) if row.due else None,
            Line("Note", row.note) if row.note else None,
        ]
        if row.agreement_id is not None:
            agreement = await session.get(Agreement, row.agreement_id)
            if agreement is not None and agreement.uri:
                lines.append(Line("Agreement", agreement.uri, agreement.uri))
        context["to_fulfil"] = _to_fulfil([row], myself, fmt)
    elif isinstance(row, Agreement):
        other = row.counterparty if row.proposer == myself else row.proposer
        title = text("Agreement with %(who)s") % {"who": fmt.who(other)}
        lines += [
            Line("State", row.state),
            _link(fmt, "Proposer", row.proposer),
            _link(fmt, "Counterparty", row.counterparty),
            Line("Proposal", row.proposal_uri, row.proposal_uri) if row.proposal_uri else None,
            Line("Agreed", fmt.when(row.agreed_at)) if row.agreed_at else None,
            Line("Reason", row.reason) if row.reason else None,
        ]
        commitments = (
            await session.scalars(
                select(Commitment).where(Commitment.agreement_id == row.id).order_by(Commitment.id)
            )
        ).all()
        for c in commitments:
            lines.append(
                Line(
                    f"{fmt.who(c.provider)} → {fmt.who(c.receiver)}",
                    f"{c.action} {fmt.qty(c.quantity, c.unit)} "
                    f"({fmt.qty(c.fulfilled, c.unit)} done)",
                    c.uri,
                )
            )
        context["to_fulfil"] = _to_fulfil(commitments, myself, fmt)
        if not commitments:
            for term in agreement_terms(row):
                measure = term.get("resourceQuantity") or term.get("effortQuantity")
                lines.append(Line("Terms", fmt.measure(measure)))
    elif isinstance(row, EconomicEvent):
        names = await kind_names(session, [row.resource_conforms_to])
        amount = fmt.qty(
            row.resource_quantity if row.resource_quantity is not None else row.effort_quantity,
            row.resource_unit or row.effort_unit,
        )
        title = text("Event: %(what)s") % {"what": f"{row.action} {amount}"}
        lines += [
            Line("State", row.state),
            Line("What", kind_label(row.resource_conforms_to, names)),
            Line("Quantity", amount),
            _link(fmt, "Provider", row.provider),
            _link(fmt, "Receiver", row.receiver),
            Line("When", fmt.when(row.has_point_in_time or row.created_at)),
            Line("Fulfils", row.fulfills, row.fulfills) if row.fulfills else None,
            Line("Signed by", fmt.who(row.signer)),
        ]
        context["accept_credit"] = row.receiver == myself and row.state == "claimed"
        # The provider backs (part of) an original event out with a correction.
        context["correctable"] = (
            row.provider == myself and row.corrects is None and row.state == "applied"
        )
    else:
        assert isinstance(row, EconomicResource)
        names = await kind_names(session, [row.conforms_to])
        kind = row.name or kind_label(row.conforms_to, names)
        accounting = quantity(row.accounting_quantity, row.unit)
        onhand = quantity(row.onhand_quantity, row.unit)
        assert accounting is not None
        assert onhand is not None
        title = kind
        lines += [
            Line("Kind", kind_label(row.conforms_to, names)),
            Line("Accounting", f"{accounting.text} ({accounting.label})"),
            Line("On hand", f"{onhand.text} ({onhand.label})"),
            Line("Mutual credit", text("yes")) if row.mutual_credit else None,
        ]
        points = await history(session, row)
        context["points"] = [(fmt.when(p.at), fmt.qty(p.balance, row.unit)) for p in points]
        context["chart"] = step_chart(points)
        context["kind_name"] = kind
    response = render_page(
        svc,
        "record.html",
        status=status,
        language=language,
        me=me,
        errors=errors or {},
        values=values or {},
        fmt=fmt,
        title=title,
        kind=kind,
        row=row,
        lines=[line for line in lines if line is not None],
        **context,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
