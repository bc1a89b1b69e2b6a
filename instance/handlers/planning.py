"""Plans and processes on the wire (FEP-3264): ``Create{Plan}`` from the author's client
and from peers, and ``Update{Process{finished: true}}`` when its author says it is done.

Each commitment in a plan then lives as a direct commitment does: its other party
answers ``Accept`` or ``Reject`` (:mod:`instance.handlers.commitments`), and events
that fulfil it, ``inputOf``/``outputOf`` its process, finish the process and the plan
(:mod:`instance.planning.progress`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import OriginError, check_same_origin
from instance.activities import id_of, object_of
from instance.inbox.processing import Context, Refused, handles
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.outbox.vfdocs import client_document, typed
from instance.planning.plans import check_plan, flows_of, mint_plan, others, record_plan
from instance.planning.progress import finish_process
from instance.problems import Problem
from instance.store.models import Agent, Commitment
from instance.store.models import Plan as PlanRow
from instance.store.models import Process as ProcessRow
from vocab import to_json
from vocab.objects.plans import Plan, Process

__all__: list[str] = []


@outbox_handler("Create", "Plan")
async def post_plan(sub: Submission) -> Posted:
    activity = await client_document(sub)
    document = object_of(activity)
    if not isinstance(document, dict):
        raise Problem(400, "Create needs the Plan itself", field="object")
    minted = mint_plan(document, sub.actor, sub.svc.urls.new_object)
    plan = typed(minted, Plan, "object")
    check_plan(plan, sub.actor)
    canonical = to_json(plan)
    if isinstance(minted.get("basedOn"), str):
        canonical["basedOn"] = minted["basedOn"]  # the recipe it was made from
    parties = others(plan, sub.actor)
    sub.activity.clear()
    sub.activity.update(activity, object=canonical, to=parties)
    sub.activity.pop("cc", None)
    await prefetch_addressees(sub, *parties)
    actor, agent_id = sub.actor, sub.agent.id

    async def record(session: AsyncSession) -> None:
        await record_plan(session, plan, canonical, author=actor, agent_id=agent_id)

    return Posted(sub.activity, effects=record)


@handles("Create", "Plan")
async def on_plan(ctx: Context) -> None:
    document = object_of(ctx.activity)
    plan = typed(document, Plan, "object")
    try:
        ids = [plan.id, *(i.id for i in plan.plan_includes if isinstance(i, Process))]
        ids += [c.id for c, _i, _o in flows_of(plan)]
        for uri in ids:
            if uri is None:
                raise Refused("every object of a plan has an id")
            check_same_origin(uri, ctx.actor)
        check_plan(plan, ctx.actor)
    except OriginError as exc:
        raise Refused(str(exc)) from None
    except Problem as exc:
        raise Refused(exc.detail) from None
    urls = ctx.svc.urls
    async with ctx.apply() as session:
        if await session.scalar(select(PlanRow.id).where(PlanRow.uri == plan.id)):
            return  # the author is on this instance: its side recorded it
        usernames = {
            name
            for party in others(plan, ctx.actor)
            if (name := urls.username_of(party)) is not None
        }
        known = set(
            await session.scalars(select(Agent.username).where(Agent.username.in_(usernames)))
        )
        if not known:
            raise Refused("the plan asks nothing of an agent of this instance")

        def ours(party: str) -> bool:
            return urls.username_of(party) in known

        await record_plan(session, plan, document, author=ctx.actor, agent_id=None, only_with=ours)


async def _parties(session: AsyncSession, plan_uri: str, author: str) -> list[str]:
    rows = await session.execute(
        select(Commitment.provider, Commitment.receiver).where(
            Commitment.planned_within == plan_uri
        )
    )
    return sorted({p for pair in rows for p in pair if p != author})


@outbox_handler("Update", "Process")
async def post_finish_process(sub: Submission) -> Posted:
    document = object_of(await client_document(sub))
    uri = id_of(document)
    if not isinstance(document, dict) or document.get("finished") is not True:
        raise Problem(400, "an Update of a process sets finished: true", field="object.finished")
    async with sub.svc.db.read() as session:
        process = await session.scalar(select(ProcessRow).where(ProcessRow.uri == uri))
        plan = await session.get(PlanRow, process.plan_id) if process and process.plan_id else None
        parties = await _parties(session, plan.uri, sub.actor) if plan else []
    if process is None or plan is None or plan.agent_id != sub.agent.id:
        raise Problem(404, f"{uri} is not a process of this agent's plans", field="object")
    if process.finished:
        raise Problem(409, f"{uri} is already finished", field="object")
    sub.activity["object"] = {"type": "Process", "id": uri, "finished": True}
    sub.activity["to"] = parties
    sub.activity.pop("cc", None)
    await prefetch_addressees(sub, *parties)

    async def finish(session: AsyncSession) -> None:
        found = await session.scalar(select(ProcessRow).where(ProcessRow.uri == uri))
        assert found is not None
        await finish_process(session, found)

    return Posted(sub.activity, effects=finish)


@handles("Update", "Process")
async def on_finish_process(ctx: Context) -> None:
    document = object_of(ctx.activity)
    if not isinstance(document, dict) or document.get("finished") is not True:
        raise Refused("an Update of a process sets finished: true")
    async with ctx.apply() as session:
        process = await session.scalar(select(ProcessRow).where(ProcessRow.uri == id_of(document)))
        if process is None or process.author != ctx.actor:
            raise Refused("an Update of a process its author never sent us")
        await finish_process(session, process)
