"""Plans and processes (VF Plan, Process; FEP-3264): made by an agent's client, recorded
by each instance whose agents are asked to commit to part of them.

A client posts a Plan whose ``planIncludes`` holds processes (with their input and
output commitments) and commitments outside any process (FEP-c5a1 to-dos). The
author's instance mints every id and links each flow to its process and plan
(:func:`mint_plan`); each commitment is between the author and an agent on any
instance, and waits for that agent's ``Accept`` or ``Reject`` as a direct commitment
does. A peer's instance records the plan and the commitments its own agents are party
to (:func:`record_plan` with ``only_with``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import first_type
from instance.ledger.fulfilment import record_direct_commitment
from instance.negotiation import dumps
from instance.problems import Problem
from instance.store.models import Plan as PlanRow
from instance.store.models import Process as ProcessRow
from vocab import Commitment
from vocab.objects.plans import Plan, Process

__all__ = ["MAX_FLOWS", "MAX_ITEMS", "PlannedFlow", "flows_of", "mint_plan", "record_plan"]

#: Bounds on one plan: processes and commitments it includes, flows of a process.
MAX_ITEMS = 100
MAX_FLOWS = 100

#: A commitment of a plan and the process it is an input or output of.
PlannedFlow = tuple[Commitment, str | None, str | None]


def _listed(value: Any, field: str, limit: int) -> list[Any]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    if len(items) > limit:
        raise Problem(400, f"at most {limit} items", field=field)
    return items


def _commitment(
    flow: Any, field: str, author: str, new_id: Callable[[str], str], links: dict[str, str]
) -> dict[str, Any]:
    if not isinstance(flow, dict) or first_type(flow) != "Commitment":
        raise Problem(400, "a plan's flows are embedded Commitments", field=field)
    made = {**flow, "id": new_id("commitments"), "attributedTo": author, **links}
    made.setdefault("provider", author)
    made.setdefault("receiver", author)
    return made


def mint_plan(
    document: dict[str, Any], author: str, new_id: Callable[[str], str]
) -> dict[str, Any]:
    """The client's plan with ids minted on our origin, each flow linked to its process
    (``inputOf``/``outputOf``) and everything to the plan (``plannedWithin``); a flow
    with no provider or receiver gets the author."""
    plan = {**document, "id": new_id("plans"), "attributedTo": author}
    included: list[Any] = []
    for i, item in enumerate(
        _listed(document.get("planIncludes"), "object.planIncludes", MAX_ITEMS)
    ):
        field = f"object.planIncludes[{i}]"
        kind = first_type(item) if isinstance(item, dict) else None
        if kind == "Process":
            process = {**item, "id": new_id("processes"), "plannedWithin": plan["id"]}
            for key, link in (("hasInput", "inputOf"), ("hasOutput", "outputOf")):
                flows = _listed(item.get(key), f"{field}.{key}", MAX_FLOWS)
                process[key] = [
                    _commitment(
                        flow,
                        f"{field}.{key}[{j}]",
                        author,
                        new_id,
                        {link: process["id"], "plannedWithin": plan["id"]},
                    )
                    for j, flow in enumerate(flows)
                ]
            included.append(process)
        elif kind == "Commitment":
            included.append(_commitment(item, field, author, new_id, {"plannedWithin": plan["id"]}))
        else:
            raise Problem(400, "a plan includes embedded Processes and Commitments", field=field)
    plan["planIncludes"] = included
    return plan


def flows_of(plan: Plan) -> list[PlannedFlow]:
    """Every commitment of the plan, with the process it is an input or output of."""
    found: list[PlannedFlow] = []
    for item in plan.plan_includes:
        if isinstance(item, Process):
            for flow in item.has_input:
                if isinstance(flow, Commitment):
                    found.append((flow, item.id, None))
            for flow in item.has_output:
                if isinstance(flow, Commitment):
                    found.append((flow, None, item.id))
        elif isinstance(item, Commitment):
            found.append((item, None, None))
    return found


def check_plan(plan: Plan, author: str) -> None:
    """Each commitment states its action and is between the author and someone: an
    agent commits itself, or asks another to commit to it."""
    flows = flows_of(plan)
    if len(flows) > MAX_ITEMS * 2:
        raise Problem(400, f"a plan holds at most {MAX_ITEMS * 2} commitments", field="object")
    for commitment, _input_of, _output_of in flows:
        if commitment.action is None:
            raise Problem(400, f"{commitment.id} states no action", field="object.planIncludes")
        if author not in (commitment.provider, commitment.receiver):
            raise Problem(
                403,
                f"{commitment.id}: a plan's author is a party to each of its commitments",
                field="object.planIncludes",
            )
        if commitment.effort_quantity is None and commitment.resource_quantity is None:
            raise Problem(400, f"{commitment.id} states no quantity", field="object.planIncludes")


def others(plan: Plan, author: str) -> list[str]:
    """The agents other than the author that the plan's commitments name."""
    named: dict[str, None] = {}
    for commitment, _i, _o in flows_of(plan):
        for party in (commitment.provider, commitment.receiver):
            if party is not None and party != author:
                named[party] = None
    return list(named)


async def record_plan(
    session: AsyncSession,
    plan: Plan,
    document: dict[str, Any],
    *,
    author: str,
    agent_id: int | None,
    only_with: Callable[[str], bool] | None = None,
) -> PlanRow:
    """Record the plan, its processes and its commitments (on a peer's plan, only
    those with a party ``only_with`` accepts: our own agents)."""
    assert plan.id is not None
    row = PlanRow(
        uri=plan.id,
        agent_id=agent_id,
        author=author,
        name=(plan.name or "")[:500],
        note=plan.note,
        due=plan.due,
        based_on=document.get("basedOn") if isinstance(document.get("basedOn"), str) else None,
        body=dumps(document),
    )
    session.add(row)
    await session.flush()
    for item in plan.plan_includes:
        if isinstance(item, Process) and item.id is not None:
            session.add(
                ProcessRow(
                    uri=item.id,
                    plan_id=row.id,
                    author=author,
                    name=(item.name or "")[:500],
                    note=item.note,
                    has_beginning=item.has_beginning,
                    has_end=item.has_end,
                    based_on=item.based_on,
                )
            )
    for commitment, input_of, output_of in flows_of(plan):
        parties = (commitment.provider or author, commitment.receiver or author)
        if only_with is not None and not any(only_with(p) for p in parties if p != author):
            continue
        state = "accepted" if parties == (author, author) else "proposed"
        recorded = await record_direct_commitment(session, commitment, creator=author, state=state)
        recorded.input_of, recorded.output_of = input_of, output_of
        recorded.planned_within = plan.id
    await session.flush()
    return row
