"""The whole life of a commitment after it is made: changed, finished, cancelled.

* **Changed** (``Update`` with new quantity, due date or note): only by its creator,
  only while nothing of it has been fulfilled and it is still open; the other party
  must accept it again (its state goes back to ``proposed``).
* **Finished** (``Update{finished: true}``, FEP-c5a1): by its creator, while open; it
  no longer waits to be done, whether or not all of it was.
* **Cancelled**: by its creator with ``Delete`` of the commitment, by the other party
  with ``Reject`` of it (after having accepted it; before, that is a plain refusal),
  while open. The record stays, as ``cancelled``, and its agreement reflects it.

Update and Delete come from the creator alone because the commitment's id is on the
creator's origin, and an instance takes those verbs only from an object's own origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.problems import Problem
from instance.store.models import Agreement, Commitment, utcnow
from vocab import Measure, VocabError
from vocab.objects.fields import DATETIME

__all__ = [
    "OPEN",
    "Change",
    "apply_change",
    "cancel",
    "finish",
    "locked_commitment",
    "read_change",
    "reflect_agreement",
]

#: States in which a commitment still waits to be done.
OPEN = ("proposed", "accepted")


@dataclass(frozen=True)
class Change:
    """What an ``Update`` of a commitment asks for."""

    finished: bool
    quantity: Measure | None
    due: datetime | None
    note: str | None

    @property
    def edits(self) -> bool:
        return self.quantity is not None or self.due is not None or self.note is not None


def read_change(document: Any, field: str = "object") -> Change:
    """The change a (normalized) ``Update``'s object asks for, or a 400 naming the field."""
    if not isinstance(document, dict):
        raise Problem(400, "Update needs the changed Commitment itself", field=field)
    finished = document.get("finished", False)
    if not isinstance(finished, bool):
        raise Problem(400, "finished is true or false", field=f"{field}.finished")
    quantity = None
    for key in ("resourceQuantity", "effortQuantity"):
        if key in document:
            try:
                quantity = Measure.parse(document[key], f"{field}.{key}")
            except VocabError as exc:
                raise Problem(400, str(exc), field=f"{field}.{key}") from None
            if quantity.value <= 0:
                raise Problem(400, "must be greater than zero", field=f"{field}.{key}")
    due = None
    if "due" in document:
        try:
            due = DATETIME.read(document["due"], f"{field}.due")
        except VocabError as exc:
            raise Problem(400, str(exc), field=f"{field}.due") from None
    note = document.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 10_000):
        raise Problem(400, "a note is text of at most 10000 characters", field=f"{field}.note")
    change = Change(finished, quantity, due, note)
    if not change.finished and not change.edits:
        raise Problem(
            400,
            "an Update of a commitment changes its quantity, due or note, or sets finished",
            field=field,
        )
    return change


async def locked_commitment(session: AsyncSession, uri: str | None) -> Commitment | None:
    if uri is None:
        return None
    found: Commitment | None = await session.scalar(
        select(Commitment).where(Commitment.uri == uri).with_for_update()
    )
    return found


def _check_open(row: Commitment) -> None:
    if row.state not in OPEN:
        raise Problem(409, f"{row.uri} is {row.state}: it can no longer change", field="object")


def check_change(row: Commitment, actor: str, change: Change) -> None:
    """Whether ``actor`` may make ``change`` to ``row`` (a Problem says why not)."""
    if actor not in (row.provider, row.receiver):
        raise Problem(403, f"{actor} is not a party to {row.uri}", field="object")
    _check_open(row)
    if actor != row.creator:
        # Its id is on the creator's origin: peers take Update and Delete of it from
        # the creator alone. The other party answers with Accept or Reject.
        raise Problem(
            403,
            f"only {row.creator}, who made {row.uri}, can change it; "
            "the other party accepts or rejects it",
            field="object",
        )
    if not change.edits:
        return
    if row.agreement_id is not None:
        raise Problem(
            409,
            f"{row.uri} is a term of an agreement: cancel it and agree anew instead",
            field="object",
        )
    if row.fulfilled != 0:
        raise Problem(
            409, f"{row.uri} is already partly fulfilled: it can no longer change", field="object"
        )
    if change.quantity is not None and change.quantity.unit != row.unit:
        raise Problem(
            422,
            f"{row.uri} is counted in {row.unit}, not {change.quantity.unit}",
            field="object.resourceQuantity",
        )


async def apply_change(session: AsyncSession, row: Commitment, change: Change) -> None:
    """Make a checked change. An edit waits for the other party's ``Accept`` again."""
    if change.quantity is not None:
        row.quantity = change.quantity.value
    if change.due is not None:
        row.due = change.due
    if change.note is not None:
        row.note = change.note
    if change.edits:
        row.state = "proposed"
    if change.finished:
        await finish(session, row)


async def finish(session: AsyncSession, row: Commitment) -> None:
    """Mark an open commitment finished (FEP-c5a1): it waits for nothing more."""
    _check_open(row)
    row.state, row.finished_at = "finished", utcnow()
    await reflect_agreement(session, row)


async def cancel(session: AsyncSession, row: Commitment, actor: str) -> None:
    """Cancel an open commitment at either party's word."""
    if actor not in (row.provider, row.receiver):
        raise Problem(403, f"{actor} is not a party to {row.uri}", field="object")
    _check_open(row)
    row.state, row.finished_at = "cancelled", utcnow()
    await reflect_agreement(session, row)


async def reflect_agreement(session: AsyncSession, row: Commitment) -> None:
    """An agreement is ``cancelled`` once every commitment of it is, and ``finished``
    once every one is finished or cancelled (and some finished)."""
    if row.agreement_id is None:
        return
    agreement = await session.get(Agreement, row.agreement_id)
    if agreement is None or agreement.state not in ("agreed", "finished"):
        return
    await session.flush()
    states = set(
        (
            await session.scalars(
                select(Commitment.state).where(Commitment.agreement_id == agreement.id)
            )
        ).all()
    )
    if states == {"cancelled"}:
        agreement.state, agreement.finished_at = "cancelled", utcnow()
    elif states <= {"finished", "cancelled"}:
        agreement.state, agreement.finished_at = "finished", utcnow()


def fulfilled_share(row: Commitment) -> Decimal:
    """How much of the commitment happened, 0 to 1."""
    return row.fulfilled / row.quantity if row.quantity else Decimal(0)
