"""Which inbound activities a local agent is told about.

Called by the inbox processor (:func:`instance.inbox.processing._finish`) in the
transaction that files an activity into its recipients' inboxes, so a notification
exists exactly when the activity was filed, once per agent (a unique key on the agent
and the activity), and is undone with it.

- ``Offer`` of an ``Agreement`` (an answer to a proposal), to the proposer: ``response``;
- ``Accept`` / ``Reject`` of an offer, a commitment or an event, to its recipient:
  ``accepted`` / ``rejected``;
- ``Create`` of an ``EconomicEvent`` whose receiver is the agent (a delivery, a payment,
  a credit): ``payment``;
- any post whose ``tag`` mentions the agent: ``mention``;
- ``Create`` of a ``Proposal`` by an actor the agent follows: ``offer`` / ``request``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import first_type, id_of, object_of
from instance.references import reference_type
from instance.store.models import Agent, Follow, Notification
from instance.urls import Urls

__all__ = ["KINDS", "record_notifications"]

KINDS = ("response", "accepted", "rejected", "payment", "mention", "offer", "request")

_ANSWERED = frozenset({"Offer", "Commitment", "EconomicEvent", "Agreement"})


def _kind_for(
    agent_uri: str,
    activity: dict[str, Any],
    target_type: str | None,
    mentions: set[str],
    following: bool,
) -> str | None:
    kind = first_type(activity)
    target = object_of(activity)
    if agent_uri in mentions:
        return "mention"
    if kind == "Offer" and target_type == "Agreement":
        return "response"
    if kind in ("Accept", "Reject") and target_type in _ANSWERED:
        return "accepted" if kind == "Accept" else "rejected"
    if kind == "Create" and target_type == "EconomicEvent" and isinstance(target, dict):
        return "payment" if id_of(target.get("receiver")) == agent_uri else None
    if kind == "Create" and target_type == "Proposal" and following:
        purpose = target.get("purpose") if isinstance(target, dict) else None
        return "request" if purpose == "request" else "offer"
    return None


async def record_notifications(
    session: AsyncSession,
    urls: Urls,
    activity: dict[str, Any],
    actor: str,
    agent_ids: set[int],
    mentions: set[str],
) -> set[int]:
    """Record the notifications ``activity`` gives the agents it was filed for; returns
    the agents that got one (whose live pages should be woken after the commit)."""
    if not agent_ids:
        return set()
    target = object_of(activity)
    target_type = first_type(target)
    target_id = id_of(target)
    if target_type is None and target_id is not None:
        target_type = await reference_type(session, target_id)
    agents = (
        await session.execute(select(Agent.id, Agent.username).where(Agent.id.in_(agent_ids)))
    ).all()
    followers: set[int] = set()
    if first_type(activity) == "Create" and target_type == "Proposal":
        followers = {
            agent_id
            for agent_id in (
                await session.scalars(
                    select(Follow.follower_agent_id).where(
                        Follow.followee == actor,
                        Follow.state == "accepted",
                        Follow.follower_agent_id.in_(agent_ids),
                    )
                )
            ).all()
            if agent_id is not None
        }
    uri = activity.get("id")
    if not isinstance(uri, str):
        return set()
    notified: set[int] = set()
    for agent_id, username in agents:
        agent_uri = urls.actor(username)
        if agent_uri == actor:
            continue  # one's own activity, delivered to oneself
        kind = _kind_for(agent_uri, activity, target_type, mentions, agent_id in followers)
        if kind is None:
            continue
        exists = await session.scalar(
            select(Notification.id).where(
                Notification.agent_id == agent_id, Notification.activity_uri == uri
            )
        )
        if exists is None:
            session.add(
                Notification(
                    agent_id=agent_id,
                    kind=kind,
                    actor=actor,
                    activity_uri=uri,
                    object_uri=target_id,
                )
            )
            notified.add(agent_id)
    return notified
