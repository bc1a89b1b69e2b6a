"""Which servers speak ValueFlows: they get our Proposals, every other server a Note.

Mastodon and most Fediverse software show only a few object types, so a proposal
reaches them as a ``Note`` that describes it (:mod:`instance.outbox.fediverse`), while a
ValueFlows-aware server (another oce) gets the ``Proposal`` itself and no Note. The
choice is made per host we deliver to, so each shared inbox gets exactly one of them:

1. the host's NodeInfo (FEP-f1d5) has ``metadata.valueflows`` (oce publishes it), or
2. an actor we hold from that host names a ValueFlows context in its ``@context``
   (oce's ``/ns/oce-v1.jsonld``, or a ValueFlows namespace in an inline context).

The answer is remembered in ``remote_servers``. Looking is network work, so it is done
before any transaction: when a remote actor follows one of our agents, and before a
proposal is published, edited or withdrawn for hosts not known yet (a bounded number,
within a bounded time). Inside the publishing transaction :func:`valueflows_hosts` only
reads the table; a host never looked at counts as plain Fediverse.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from federation import FetchError, NodeInfo, fetch_nodeinfo
from instance.activities import PUBLIC, addressees
from instance.services import Services
from instance.store.models import Agent, Follow, RemoteActor, RemoteServer, utcnow
from vocab import OCE_CONTEXT_PATH, VF
from vocab.namespaces import VF_LEGACY

__all__ = [
    "CHECK_TTL",
    "host_of",
    "learn_servers",
    "names_valueflows",
    "recipient_inboxes",
    "speaks_valueflows",
    "valueflows_hosts",
]

log = logging.getLogger("oce.servers")

#: A server's answer is looked at again after this long…
CHECK_TTL = timedelta(days=7)
#: …or after this long when its NodeInfo could not be read.
RETRY_TTL = timedelta(hours=1)
#: At most this many hosts are looked at for one publication, this many at a time,
#: within this many seconds; the rest count as plain Fediverse until a later look.
MAX_HOSTS_PER_LOOK = 32
LOOK_CONCURRENCY = 8
LOOK_BUDGET_SECONDS = 15.0
#: Distinct recipient inboxes read to find the hosts to look at.
_MAX_RECIPIENT_INBOXES = 10_000
#: Bounds on what is read of an actor's ``@context``.
_MAX_CONTEXT_ENTRIES = 20
_MAX_TERMS = 500
_VF_NAMESPACES = (VF, *VF_LEGACY)
#: Looks in progress in this process, by (services, host).
_LOOKING: dict[tuple[int, str], asyncio.Future[None]] = {}


def host_of(url: str) -> str:
    """The authority of ``url``, lower case: the key servers are known by."""
    return urlsplit(url).netloc.lower()


def speaks_valueflows(info: NodeInfo) -> bool:
    """Whether a NodeInfo document says its server reads ValueFlows objects."""
    found = info.metadata.get("valueflows")
    return isinstance(found, Mapping) or found is True


def names_valueflows(context: Any) -> bool:
    """Whether a JSON-LD ``@context`` (as sent, never fetched) names ValueFlows."""
    entries = context if isinstance(context, list) else [context]
    for entry in entries[:_MAX_CONTEXT_ENTRIES]:
        if isinstance(entry, str):
            parts = urlsplit(entry)
            if parts.path == OCE_CONTEXT_PATH or entry.startswith(_VF_NAMESPACES):
                return True
        elif isinstance(entry, Mapping):
            for n, value in enumerate(entry.values()):
                if n >= _MAX_TERMS:
                    break
                iri = value.get("@id") if isinstance(value, Mapping) else value
                if isinstance(iri, str) and iri.startswith(_VF_NAMESPACES):
                    return True
    return False


async def _actors_name_valueflows(session: AsyncSession, host: str) -> bool:
    """Whether an actor we hold whose inbox is on ``host`` names a ValueFlows context."""
    documents = await session.scalars(
        select(RemoteActor.document).where(RemoteActor.host == host).limit(5)
    )
    for text in documents:
        try:
            document = json.loads(text)
        except ValueError:
            continue
        if isinstance(document, dict) and names_valueflows(document.get("@context")):
            return True
    return False


async def _look(svc: Services, host: str, scheme: str) -> None:
    """Read one server's NodeInfo and remember what it speaks."""
    info: NodeInfo | None = None
    try:
        info = await fetch_nodeinfo(svc.peers.fetcher, f"{scheme}://{host}")
    except FetchError as exc:
        log.info("no NodeInfo from %s: %s", host, exc)
    for attempt in (1, 2):
        try:
            async with svc.db.write() as session:
                valueflows = (info is not None and speaks_valueflows(info)) or (
                    await _actors_name_valueflows(session, host)
                )
                row = await session.get(RemoteServer, host)
                if row is None:
                    row = RemoteServer(host=host)
                    session.add(row)
                row.software = info.software if info else ""
                row.valueflows = valueflows
                row.nodeinfo_found = info is not None
                row.checked_at = utcnow()
            break
        except IntegrityError:
            # Another process looked at the same host at the same moment: update its row.
            if attempt == 2:
                raise
    kind = "ValueFlows" if valueflows else "plain Fediverse"
    log.info("%s runs %s: %s", host, info.software if info else "?", kind)


async def _due(svc: Services, hosts: set[str]) -> set[str]:
    """The hosts among ``hosts`` never looked at, or whose answer is old."""
    if not hosts:
        return set()
    now = utcnow()
    async with svc.db.read() as session:
        rows = (
            await session.scalars(select(RemoteServer).where(RemoteServer.host.in_(hosts)))
        ).all()
    fresh = {
        row.host
        for row in rows
        if now - row.checked_at < (CHECK_TTL if row.nodeinfo_found else RETRY_TTL)
    }
    return hosts - fresh


async def learn_servers(svc: Services, urls: Iterable[str]) -> None:
    """Find out what the servers of ``urls`` (inboxes, actor ids) speak, when not known.

    Never raises for a server that cannot be read (it counts as plain Fediverse) and
    returns within :data:`LOOK_BUDGET_SECONDS`.
    """
    schemes: dict[str, str] = {}
    for url in urls:
        host = host_of(url)
        if host and not svc.urls.is_local(url):
            schemes.setdefault(host, urlsplit(url).scheme or "https")
    due = sorted(await _due(svc, set(schemes)))[:MAX_HOSTS_PER_LOOK]
    if not due:
        return
    limit = asyncio.Semaphore(LOOK_CONCURRENCY)

    async def look(host: str) -> None:
        async with limit:
            # Senders of one server processed at once (the inbox processor's lanes)
            # share one look at it rather than each reading its NodeInfo.
            key = (id(svc), host)
            if (running := _LOOKING.get(key)) is None:
                running = _LOOKING[key] = asyncio.ensure_future(_look(svc, host, schemes[host]))
                running.add_done_callback(lambda _done: _LOOKING.pop(key, None))
            await asyncio.shield(running)

    try:
        async with asyncio.timeout(LOOK_BUDGET_SECONDS):
            await asyncio.gather(*(look(host) for host in due))
    except TimeoutError:
        log.info("looking at %d servers took too long; the rest count as plain", len(due))


async def recipient_inboxes(svc: Services, agent: Agent, activity: Mapping[str, Any]) -> list[str]:
    """The remote inboxes ``activity`` from ``agent`` will go to (followers' shared ones)."""
    addressed = set(addressees(activity))
    inbox = func.coalesce(RemoteActor.shared_inbox, RemoteActor.inbox)
    found: set[str] = set()
    async with svc.db.read() as session:
        if svc.urls.followers(agent.username) in addressed:
            rows = await session.scalars(
                select(inbox)
                .distinct()
                .select_from(Follow)
                .join(RemoteActor, RemoteActor.uri == Follow.follower)
                .where(Follow.followee_agent_id == agent.id, Follow.state == "accepted")
                .limit(_MAX_RECIPIENT_INBOXES)
            )
            found.update(rows.all())
        remote = sorted(a for a in addressed if a != PUBLIC and not svc.urls.is_local(a))
        if remote:
            rows = await session.scalars(
                select(inbox).where(RemoteActor.uri.in_(remote[:_MAX_RECIPIENT_INBOXES]))
            )
            found.update(rows.all())
    return sorted(found)


async def valueflows_hosts(session: AsyncSession, hosts: Iterable[str]) -> set[str]:
    """The hosts among ``hosts`` known to speak ValueFlows (no network: a table read)."""
    wanted = sorted(set(hosts))
    found: set[str] = set()
    # Chunks keep each statement under SQLite's bound-parameter limit.
    for start in range(0, len(wanted), 1000):
        rows = await session.scalars(
            select(RemoteServer.host).where(
                RemoteServer.host.in_(wanted[start : start + 1000]),
                RemoteServer.valueflows.is_(True),
            )
        )
        found.update(rows.all())
    return found
