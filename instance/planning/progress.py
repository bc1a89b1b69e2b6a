"""Where a plan stands: which processes are finished, what is committed, fulfilled and
late. A process is finished when all its output commitments are (or its author says
so); a plan when all its processes and its commitments outside processes are done.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.store.models import Commitment, EconomicEvent, utcnow
from instance.store.models import Plan as PlanRow
from instance.store.models import Process as ProcessRow
from vocab import Measure
from vocab.objects.fields import write_datetime

__all__ = ["after_event", "finish_process", "plan_progress", "refresh_process"]

DONE = ("finished", "cancelled")


async def _outputs(session: AsyncSession, process: str) -> Sequence[Commitment]:
    return (await session.scalars(select(Commitment).where(Commitment.output_of == process))).all()


async def refresh_process(session: AsyncSession, process: ProcessRow) -> None:
    """Finish the process once all its outputs are done, and its plan with it."""
    if process.finished:
        return
    await session.flush()
    outputs = await _outputs(session, process.uri)
    if outputs and all(c.state in DONE for c in outputs):
        await finish_process(session, process)


async def finish_process(session: AsyncSession, process: ProcessRow) -> None:
    """Mark the process finished (its outputs are, or its author says so)."""
    if not process.finished:
        process.finished, process.finished_at = True, utcnow()
    if process.plan_id is None:
        return
    await session.flush()
    plan = await session.get(PlanRow, process.plan_id)
    if plan is None or plan.finished:
        return
    open_processes = await session.scalar(
        select(ProcessRow.id).where(ProcessRow.plan_id == plan.id, ProcessRow.finished.is_(False))
    )
    loose = await session.scalar(
        select(Commitment.id).where(
            Commitment.planned_within == plan.uri,
            Commitment.input_of.is_(None),
            Commitment.output_of.is_(None),
            Commitment.state.not_in(DONE),
        )
    )
    if open_processes is None and loose is None:
        plan.finished, plan.finished_at = True, utcnow()


async def after_event(session: AsyncSession, event: EconomicEvent) -> None:
    """What an event recorded here does to the processes it names or fulfils into."""
    uris = {event.input_of, event.output_of}
    if event.fulfills is not None:
        commitment = await session.scalar(
            select(Commitment).where(Commitment.uri == event.fulfills)
        )
        if commitment is not None:
            uris |= {commitment.input_of, commitment.output_of}
    uris.discard(None)
    for process in (
        await session.scalars(select(ProcessRow).where(ProcessRow.uri.in_(uris)))
    ).all():
        await refresh_process(session, process)


def _flow(row: Commitment, now: datetime) -> dict[str, Any]:
    late = row.due is not None and row.due < now and row.state not in DONE
    flow: dict[str, Any] = {
        "id": row.uri,
        "action": row.action,
        "provider": row.provider,
        "receiver": row.receiver,
        "state": row.state,
        "committed": Measure(row.quantity, row.unit).to_json(),
        "fulfilled": Measure(row.fulfilled, row.unit).to_json(),
        "late": late,
    }
    if row.resource_conforms_to:
        flow["resourceConformsTo"] = row.resource_conforms_to
    if row.due is not None:
        flow["due"] = write_datetime(row.due)
    return flow


async def plan_progress(
    session: AsyncSession, plan: PlanRow, now: datetime | None = None
) -> dict[str, Any]:
    """The plan's progress as JSON: each process with its inputs and outputs, the
    commitments outside processes, and counts of what is proposed, accepted,
    finished, cancelled and late. (What the web app's board shows.)"""
    now = now or utcnow()
    processes = (
        await session.scalars(
            select(ProcessRow).where(ProcessRow.plan_id == plan.id).order_by(ProcessRow.id)
        )
    ).all()
    commitments = (
        await session.scalars(
            select(Commitment).where(Commitment.planned_within == plan.uri).order_by(Commitment.id)
        )
    ).all()
    counts = {"proposed": 0, "accepted": 0, "rejected": 0, "finished": 0, "cancelled": 0, "late": 0}
    for row in commitments:
        counts[row.state] = counts.get(row.state, 0) + 1
        counts["late"] += _flow(row, now)["late"]
    events = {
        e.uri: e
        for e in (
            await session.scalars(
                select(EconomicEvent).where(
                    or_(
                        EconomicEvent.fulfills.in_([c.uri for c in commitments]),
                        EconomicEvent.input_of.in_([p.uri for p in processes]),
                        EconomicEvent.output_of.in_([p.uri for p in processes]),
                    )
                )
            )
        ).all()
    }
    return {
        "id": plan.uri,
        "name": plan.name,
        "author": plan.author,
        "finished": plan.finished,
        "counts": counts,
        "processes": [
            {
                "id": p.uri,
                "name": p.name,
                "finished": p.finished,
                "inputs": [_flow(c, now) for c in commitments if c.input_of == p.uri],
                "outputs": [_flow(c, now) for c in commitments if c.output_of == p.uri],
                "events": sorted(
                    e.uri for e in events.values() if p.uri in (e.input_of, e.output_of)
                ),
                "inputEvents": sorted(e.uri for e in events.values() if e.input_of == p.uri),
                "outputEvents": sorted(e.uri for e in events.values() if e.output_of == p.uri),
            }
            for p in processes
        ],
        "commitments": [
            _flow(c, now) for c in commitments if c.input_of is None and c.output_of is None
        ],
    }
