"""Discovery: WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from instance import __version__
from instance.agents import count_agents, get_agent
from instance.problems import Problem
from instance.services import services
from instance.store.models import StoredObject
from vocab import OCE_CONTEXT_PATH, oce_context_document

__all__ = ["routes"]

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
VALUEFLOWS_VERSION = "1.0.0"
#: The FEPs this instance speaks (listed only once implemented and tested).
FEPS = ["0837", "3264", "c5a1", "d767", "8b32", "521a"]


def _acct_username(resource: str, host: str, actor_prefix: str) -> str:
    """The local username a WebFinger resource names, or a Problem saying why not."""
    if resource.startswith(actor_prefix):
        username = resource.removeprefix(actor_prefix)
        if username and "/" not in username:
            return username
        raise Problem(404, f"{resource} is not an actor of this instance", field="resource")
    if not resource.startswith("acct:"):
        raise Problem(400, "resource must be acct:user@host", field="resource")
    user, at, domain = resource.removeprefix("acct:").lstrip("@").rpartition("@")
    if not at or not user or not domain:
        raise Problem(
            400, f"resource {resource!r} is not of the form acct:user@host", field="resource"
        )
    if domain.lower() != host:
        raise Problem(404, f"{domain} is not this instance ({host})", field="resource")
    return user.lower()


async def webfinger(request: Request) -> Response:
    svc = services(request)
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        raise Problem(400, "the resource parameter is missing", field="resource")
    if len(resource) > 500:
        raise Problem(400, "the resource parameter is too long", field="resource")
    username = _acct_username(resource, svc.urls.host, svc.urls.actor(""))
    async with svc.db.read() as session:
        agent = await get_agent(session, username)
    if agent is None:
        raise Problem(404, f"no agent named {username!r} on this instance", field="resource")
    actor = svc.urls.actor(agent.username)
    jrd = {
        "subject": f"acct:{agent.username}@{svc.urls.host}",
        "aliases": [actor],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor},
        ],
    }
    return JSONResponse(
        jrd, media_type="application/jrd+json", headers={"Access-Control-Allow-Origin": "*"}
    )


async def host_meta(request: Request) -> Response:
    base = services(request).urls.base
    xrd = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return Response(xrd, media_type="application/xrd+xml")


async def nodeinfo_links(request: Request) -> Response:
    base = services(request).urls.base
    return JSONResponse({"links": [{"rel": NODEINFO_SCHEMA, "href": f"{base}/nodeinfo/2.1"}]})


async def nodeinfo(request: Request) -> Response:
    svc = services(request)
    async with svc.db.read() as session:
        users = await count_agents(session)
        posts = await session.scalar(
            select(func.count())
            .select_from(StoredObject)
            .where(StoredObject.agent_id.is_not(None), StoredObject.is_activity.is_(False))
        )
    document = {
        "version": "2.1",
        "software": {
            "name": "oce",
            "version": __version__,
            "homepage": svc.urls.base,
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {
            "users": {"total": users, "activeMonth": users, "activeHalfyear": users},
            "localPosts": int(posts or 0),
        },
        "metadata": {
            "nodeName": svc.settings.instance_name,
            "valueflows": {
                "version": VALUEFLOWS_VERSION,
                "namespace": "https://w3id.org/valueflows/ont/vf#",
            },
            "federation": {"feps": FEPS},
        },
    }
    return JSONResponse(
        document,
        media_type=f'application/json; profile="{NODEINFO_SCHEMA}#"',
    )


async def oce_context(_request: Request) -> Response:
    """oce's JSON-LD context (ValueFlows terms and the few of our own), bundled."""
    return JSONResponse(
        oce_context_document(),
        media_type="application/ld+json",
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=86400"},
    )


routes = [
    Route(OCE_CONTEXT_PATH, oce_context),
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/2.1", nodeinfo),
]
