"""Distributions: an income the organization received, shared by a value equation and
paid to each contributor through the ordinary exchange protocol.

:func:`preview` computes who gets what (nothing stored). :func:`distribute` stores the
distribution, its payments and the claims they settle in one transaction (at most one
distribution per income event, ever: the column is unique), then records each payment
in a transaction of its own: the ``transfer`` event from the organization, signed and
queued to the recipient's instance (or applied here), and the payment marked paid. A
process killed halfway leaves payments ``pending``; running the same distribution again
records exactly those.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from instance.coop.contributions import contributions_of
from instance.coop.defining import equation_named
from instance.coop.memberships import require_organization, settings_of
from instance.coop.sharing import ClaimSoFar, Contribution, Sharing, share
from instance.ledger.fulfilment import apply_event, plan_event
from instance.ledger.integrity import sign
from instance.ledger.specs import ensure_specification
from instance.outbox.publish import now_iso, publish
from instance.outbox.vfdocs import typed
from instance.peers import ActorUnavailable
from instance.problems import Problem
from instance.services import Services
from instance.store.models import (
    Agent,
    CoopClaim,
    CoopDistribution,
    CoopPayment,
    Plan,
    Process,
)
from instance.store.models import EconomicEvent as EventRow
from instance.urls import Urls
from vocab import EconomicEvent, outgoing_context

__all__ = ["Outcome", "Preview", "distribute", "distribution_of", "preview"]

_QUANTUM = Decimal("1e-12")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class _Claims(Mapping[str, ClaimSoFar]):
    """Claims so far, stored under the hash of their key."""

    def __init__(self, rows: Mapping[str, ClaimSoFar]) -> None:
        self.rows = rows

    def __getitem__(self, key: str) -> ClaimSoFar:
        return self.rows[_hash(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(())  # lookups only

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class Preview:
    """Who gets what of one income, by one equation (exact to the currency's precision)."""

    organization: str
    income: str
    equation: str
    amount: Decimal
    unit: str
    conforms_to: str
    sharing: Sharing

    def payments(self) -> dict[str, Decimal]:
        """What each recipient is paid (the organization keeps the rest)."""
        return {
            who: amount
            for who, amount in self.sharing.by_recipient().items()
            if who != self.organization
        }

    def document(self) -> dict[str, Any]:
        """The preview as JSON: every part, exact and rounded, and the totals."""
        return {
            "organization": self.organization,
            "income": self.income,
            "equation": self.equation,
            "amount": {"hasUnit": self.unit, "hasNumericalValue": str(self.amount)},
            "resourceConformsTo": self.conforms_to,
            "parts": [
                {
                    "recipient": part.recipient,
                    "bucket": part.bucket,
                    "exact": str(part.exact),
                    "amount": str(part.amount),
                    **({"claimType": part.claim_type} if part.claim_type else {}),
                }
                for part in [*self.sharing.parts, self.sharing.kept]
            ],
            "payments": {who: str(amount) for who, amount in self.payments().items()},
        }


async def _income(session: AsyncSession, org_uri: str, income: str) -> EventRow:
    row = await session.scalar(select(EventRow).where(EventRow.uri == income))
    if row is None:
        raise Problem(404, f"{income} is not an event recorded here", field="income")
    if row.receiver != org_uri or row.state != "applied":
        raise Problem(422, f"{income} is not an income {org_uri} received", field="income")
    if row.resource_quantity is None or row.resource_conforms_to is None or not row.resource_unit:
        raise Problem(422, f"{income} moves no resource to share", field="income")
    return row


async def _plans_of(session: AsyncSession, processes: set[str]) -> dict[str, str]:
    """The plan each of these processes (known here) is planned within: a contribution
    to a process belongs to its plan (events name their process, not their plan)."""
    if not processes:
        return {}
    found = await session.execute(
        select(Process.uri, Plan.uri)
        .join(Plan, Process.plan_id == Plan.id)
        .where(Process.uri.in_(sorted(processes)))
    )
    return {process: plan for process, plan in found}


async def preview(
    session: AsyncSession, urls: Urls, org: Agent, income: str, equation: str
) -> Preview:
    """Share ``income`` by the organization's ``equation``; nothing is stored."""
    require_organization(org)
    org_uri = urls.actor(org.username)
    row = await _income(session, org_uri, income)
    assert row.resource_quantity is not None
    assert row.resource_conforms_to is not None
    assert row.resource_unit is not None
    rules = await equation_named(session, org, equation)
    precision = (await settings_of(session, org)).precision
    approved = await contributions_of(session, org_uri, "approved")
    plans = await _plans_of(session, {c.process for c in approved if c.process and not c.plan})
    contributions = [
        Contribution(
            event=c.event_uri,
            contributor=c.contributor,
            action=c.action,
            at=c.happened_at,
            hours=c.hours,
            quantity=c.quantity,
            conforms_to=c.conforms_to,
            process=c.process,
            plan=c.plan or plans.get(c.process or ""),
        )
        for c in approved
    ]
    # Oldest first; equally old ones (times are to the second) in the order the
    # organization recorded them, as contributions_of returns them: never by their ids,
    # whose order depends on which host and port minted them.
    claims = {
        c.key: ClaimSoFar(c.value, c.paid, c.times)
        for c in await session.scalars(
            select(CoopClaim).where(CoopClaim.organization_agent_id == org.id)
        )
    }
    sharing = share(
        row.resource_quantity, precision, rules, contributions, _Claims(claims), org_uri
    )
    return Preview(
        org_uri,
        income,
        equation,
        row.resource_quantity,
        row.resource_unit,
        row.resource_conforms_to,
        sharing,
    )


@dataclass
class Outcome:
    """A distribution as recorded: its id, state and each payment's event and state."""

    uri: str
    state: str
    payments: list[tuple[str, Decimal, str, str]]  # recipient, amount, event, state


async def distribution_of(session: AsyncSession, income: str) -> Outcome | None:
    """The distribution of ``income``, if there was one."""
    row = await session.scalar(
        select(CoopDistribution).where(CoopDistribution.income_event == income)
    )
    if row is None:
        return None
    payments = await session.scalars(
        select(CoopPayment).where(CoopPayment.distribution_id == row.id).order_by(CoopPayment.id)
    )
    return Outcome(
        row.uri, row.state, [(p.recipient, p.amount, p.event_uri, p.state) for p in payments]
    )


async def _record(
    session: AsyncSession, urls: Urls, org: Agent, income: str, equation: str, by: str
) -> int:
    """Store the distribution, its payments and claims; the distribution's row id."""
    found = await preview(session, urls, org, income, equation)
    row = CoopDistribution(
        uri=urls.new_object("distributions"),
        organization_agent_id=org.id,
        income_event=income,
        equation=equation,
        amount=found.amount,
        unit=found.unit,
        conforms_to=found.conforms_to,
        body=json.dumps(found.document(), sort_keys=True),
        created_by=by,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise Problem(409, f"{income} was distributed already", field="income") from None
    settles: dict[str, list[str]] = {}
    for part in found.sharing.parts:
        if part.claim is None or part.claim_value is None:
            continue
        claim = await session.scalar(select(CoopClaim).where(CoopClaim.key == _hash(part.claim)))
        if claim is None:
            claim = CoopClaim(
                key=_hash(part.claim),
                uri=urls.new_object("claims"),
                organization_agent_id=org.id,
                claimant=part.recipient,
                event_uri=part.claim.split("\x1f")[-1],
                claim_type=part.claim_type or "debt-like",
                value=Decimal(
                    part.claim_value.numerator / Decimal(part.claim_value.denominator)
                ).quantize(_QUANTUM),
                paid=Decimal(0),
                times=0,
            )
            session.add(claim)
        claim.paid += part.amount
        claim.times += 1
        settles.setdefault(part.recipient, []).append(claim.uri)
    for recipient, amount in found.payments().items():
        session.add(
            CoopPayment(
                distribution_id=row.id,
                recipient=recipient,
                amount=amount,
                event_uri=urls.new_object("events"),
                settles=json.dumps(settles.get(recipient, [])),
            )
        )
    await session.flush()
    return row.id


def _payment_document(
    org_uri: str, payment: CoopPayment, distribution: CoopDistribution
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": payment.event_uri,
        "type": "EconomicEvent",
        "action": "transfer",
        "provider": org_uri,
        "receiver": payment.recipient,
        "inScopeOf": org_uri,
        "resourceConformsTo": distribution.conforms_to,
        "resourceQuantity": {
            "hasUnit": distribution.unit,
            "hasNumericalValue": format(payment.amount, "f"),
        },
        "hasPointInTime": now_iso(),
        "note": f"Distribution of {distribution.income_event} by {distribution.equation}",
    }
    settles = json.loads(payment.settles)
    if settles:
        document["settles"] = settles
    return document


async def _pay(svc: Services, org: Agent, payment_id: int) -> None:
    """Record one payment (once): the transfer event, its delivery, the payment paid."""
    urls = svc.urls
    org_uri = urls.actor(org.username)
    async with svc.db.write() as session:
        payment = await session.get(CoopPayment, payment_id, with_for_update=True)
        assert payment is not None
        if payment.state == "paid":
            return
        distribution = await session.get(CoopDistribution, payment.distribution_id)
        assert distribution is not None
        document = _payment_document(org_uri, payment, distribution)
        event = typed(document, EconomicEvent, "object")
        plan = await plan_event(
            session, urls, event, document, origin="client", signer=org_uri, verified_by="local"
        )
        row = await apply_event(session, urls, plan)
        if row.resource_inventoried_as is not None:
            document["resourceInventoriedAs"] = row.resource_inventoried_as
        row.body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        activity = {
            "@context": outgoing_context(urls.base),
            "id": urls.new_activity(),
            "type": "Create",
            "actor": org_uri,
            "object": await sign(session, urls, org, document),
            "to": [payment.recipient],
            "published": now_iso(),
        }
        await publish(session, urls, org, activity)
        payment.state = "paid"
    svc.wake()


async def distribute(
    svc: Services,
    org: Agent,
    income: str,
    equation: str,
    *,
    by: str,
    after_payment: Callable[[int], Awaitable[None]] | None = None,
) -> Outcome:
    """Share ``income`` by ``equation`` and pay everyone; see the module docstring.

    Running it again for the same income pays nothing twice: a finished distribution is a
    409, an unfinished one (a killed process) records the payments still pending.
    ``after_payment`` is awaited with the count of payments this call has committed,
    after each one (the crash test stops the process there).
    """
    require_organization(org)
    async with svc.db.read() as session:
        existing = await distribution_of(session, income)
        if existing is None:
            planned = await preview(session, svc.urls, org, income, equation)
    if existing is not None and existing.state == "done":
        raise Problem(409, f"{income} was distributed already ({existing.uri})", field="income")
    recipients = (
        [p[0] for p in existing.payments] if existing is not None else list(planned.payments())
    )
    # Network work before any transaction: the recipients' actors, the currency.
    for recipient in recipients:
        if not svc.urls.is_local(recipient):
            try:
                await svc.peers.actor(recipient)
            except ActorUnavailable as exc:
                raise Problem(502, f"cannot reach {recipient}: {exc.detail}") from None
    if existing is None:
        await ensure_specification(svc, planned.conforms_to)
        async with svc.db.write() as session:
            distribution_id = await _record(session, svc.urls, org, income, equation, by)
    else:
        async with svc.db.read() as session:
            found = await session.scalar(
                select(CoopDistribution.id).where(CoopDistribution.income_event == income)
            )
            assert found is not None
            distribution_id = found
    async with svc.db.read() as session:
        pending = list(
            await session.scalars(
                select(CoopPayment.id)
                .where(
                    CoopPayment.distribution_id == distribution_id, CoopPayment.state == "pending"
                )
                .order_by(CoopPayment.id)
            )
        )
    for count, payment_id in enumerate(pending, start=1):
        await _pay(svc, org, payment_id)
        if after_payment is not None:
            await after_payment(count)
    async with svc.db.write() as session:
        row = await session.get(CoopDistribution, distribution_id)
        assert row is not None
        row.state = "done"
    async with svc.db.read() as session:
        outcome = await distribution_of(session, income)
    assert outcome is not None
    return outcome
