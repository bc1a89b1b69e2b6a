"""Telling a peer that an activity it sent was not taken, and why.

The inbox answers 202 as soon as an activity is stored durably, before it is read
(:mod:`instance.inbox.receive`). When processing then refuses it (a document that
cannot be read, a rule it breaks, something it refers to that never arrived), the
sender gets a ``Reject`` of that activity whose ``content`` gives the reason, sent by
the local agent the activity was for. So nothing a peer sends is dropped without a
word: FEP-0837 and FEP-3264 already answer offers and commitments this way.

A ``Reject`` or an ``Undo`` is never answered: an answer to an answer could bounce
between two servers for ever. Activities of this instance's own agents (delivered
locally) are not answered either: their client got the error from the outbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import suppress
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import addressees, first_type, id_of, object_of
from instance.agents import get_agent
from instance.outbox.publish import answer
from instance.peers import ActorUnavailable
from instance.services import Services
from instance.store.models import Agent, Follow

__all__ = ["NOT_ANSWERED", "answer_refusal", "reason_text", "sender_known"]

#: Activity types never answered with a Reject.
NOT_ANSWERED = frozenset({"Reject", "Undo"})
#: The longest reason sent back (a document's own text may be quoted in it).
MAX_REASON = 1000
#: Properties of the refused object that may name the local agent concerned.
_PARTIES = ("provider", "receiver", "attributedTo", "inScopeOf")


def reason_text(reason: str) -> str:
    """The reason as sent: one line, bounded."""
    line = " ".join(reason.split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


async def sender_known(svc: Services, signer: str) -> None:
    """Learn where the sender's inbox is before the transaction that answers it."""
    if svc.urls.is_local(signer):
        return
    # Unreachable: the Reject is queued all the same, and delivery finds the actor later.
    with suppress(ActorUnavailable):
        await svc.peers.actor(signer)


def _named(activity: Mapping[str, Any]) -> Iterator[str]:
    """Everyone the activity (or its object) addresses or names as a party."""
    yield from addressees(activity)
    target = object_of(activity)
    if isinstance(target, str):
        yield target
    elif isinstance(target, dict):
        yield from addressees(target)
        for key in _PARTIES:
            value = target.get(key)
            for item in value if isinstance(value, list) else [value]:
                if (found := id_of(item)) is not None:
                    yield found


async def _answering_agent(
    session: AsyncSession,
    svc: Services,
    activity: Mapping[str, Any],
    signer: str,
    recipient_agent_id: int | None,
) -> Agent | None:
    """The local agent that answers: the inbox's owner, else one the activity names,
    else one following the sender (a post that came to the shared inbox)."""
    if recipient_agent_id is not None:
        agent = await session.get(Agent, recipient_agent_id)
        if agent is not None:
            return agent
    for address in _named(activity):
        username = svc.urls.username_of(address)
        if username and (agent := await get_agent(session, username)) is not None:
            return agent
    follower = await session.scalar(
        select(Agent)
        .join(Follow, Follow.follower_agent_id == Agent.id)
        .where(Follow.followee == signer, Follow.state == "accepted")
        .order_by(Agent.id)
        .limit(1)
    )
    return follower


async def answer_refusal(
    session: AsyncSession,
    svc: Services,
    activity: Any,
    *,
    signer: str,
    recipient_agent_id: int | None,
    reason: str,
) -> bool:
    """Queue a ``Reject`` of ``activity`` to its signer with ``reason``; False when
    nobody here can answer or the activity is not one to answer."""
    if not isinstance(activity, dict) or svc.urls.is_local(signer):
        return False
    activity_id = activity.get("id")
    if first_type(activity) in NOT_ANSWERED or not isinstance(activity_id, str):
        return False
    agent = await _answering_agent(session, svc, activity, signer, recipient_agent_id)
    if agent is None:
        return False
    await answer(
        session, svc.urls, agent, "Reject", activity_id, signer, content=reason_text(reason)
    )
    return True
