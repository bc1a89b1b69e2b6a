"""WebFinger (RFC 7033) for actors: resource parsing, our JRD and host-meta, and lookup."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import quoteattr

from federation.errors import WebFingerError
from federation.fetcher import SafeFetcher
from federation.request import authority_of, same_authority

__all__ = [
    "JRD_TYPE",
    "actor_id_from_jrd",
    "build_host_meta",
    "build_jrd",
    "parse_resource",
    "resolve",
    "webfinger_url",
]

JRD_TYPE = "application/jrd+json"
_AS_TYPES = (
    "application/activity+json",
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
)
# A DNS name or an IP literal, with an optional port.
_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$"
)
_USER = re.compile(r"^[^@\s/?#:]+$")


def parse_resource(resource: str) -> tuple[str, str]:
    """(user, host) from "acct:user@host", "@user@host" or "user@host".

    The host is lower-cased; raises WebFingerError saying what is wrong.
    """
    text = resource.strip()
    if text.lower().startswith("acct:"):
        text = text[5:]
    elif text.startswith("@"):
        text = text[1:]
    user, sep, host = text.rpartition("@")
    if not sep:
        raise WebFingerError(resource, "expected user@host")
    if not user or not _USER.match(user):
        raise WebFingerError(resource, f"user part {user!r} is empty or has forbidden characters")
    host = host.lower()
    if not _HOST.match(host):
        raise WebFingerError(resource, f"host {host!r} is not a valid host name")
    return user, host


def webfinger_url(user: str, host: str, *, scheme: str = "https", server: str | None = None) -> str:
    """The WebFinger query URL for acct:user@host, asked of `server` (default: host)."""
    resource = quote(f"acct:{user}@{host}", safe="@:")
    return f"{scheme}://{server or host}/.well-known/webfinger?resource={resource}"


def build_jrd(
    subject: str,
    actor_id: str,
    *,
    profile_url: str | None = None,
    aliases: Sequence[str] = (),
    subscribe_template: str | None = None,
) -> dict[str, Any]:
    """Our WebFinger answer for an actor; `subject` is the "acct:user@host" asked about."""
    links: list[dict[str, str]] = [
        {"rel": "self", "type": "application/activity+json", "href": actor_id}
    ]
    if profile_url is not None:
        links.append(
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": profile_url,
            }
        )
    if subscribe_template is not None:
        links.append(
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": subscribe_template}
        )
    all_aliases = list(dict.fromkeys([actor_id, *([profile_url] if profile_url else []), *aliases]))
    return {"subject": subject, "aliases": all_aliases, "links": links}


def build_host_meta(host: str, *, scheme: str = "https") -> str:
    """The /.well-known/host-meta XRD pointing at our WebFinger endpoint."""
    template = f"{scheme}://{host}/.well-known/webfinger?resource={{uri}}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type="application/jrd+json" template={quoteattr(template)}/>\n'
        "</XRD>\n"
    )


def actor_id_from_jrd(jrd: dict[str, Any], resource: str) -> str:
    """The actor id a JRD points at: its `self` link of an ActivityStreams type."""
    links = jrd.get("links")
    if not isinstance(links, list):
        raise WebFingerError(resource, "answer has no links")
    for link in links:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and link.get("type") in _AS_TYPES
            and isinstance(link.get("href"), str)
        ):
            href: str = link["href"]
            if not href.startswith(("https://", "http://")):
                raise WebFingerError(resource, f"self link {href!r} is not an http(s) URL")
            return href
    raise WebFingerError(resource, "answer has no ActivityStreams self link")


async def resolve(fetcher: SafeFetcher, handle: str, *, scheme: str = "https") -> str:
    """The actor id of "user@host" (or "@user@host", "acct:user@host"), via WebFinger.

    An answer that points at an actor on another server (a domain that delegates its
    accounts to a server elsewhere) counts only when that server's own WebFinger gives
    the same actor for the same account: a host cannot name another server's actor as
    its own. Raises WebFingerError for a bad handle or answer, FetchError when the
    lookup fails.
    """
    user, host = parse_resource(handle)
    jrd = await fetcher.fetch_jrd(webfinger_url(user, host, scheme=scheme))
    actor_id = actor_id_from_jrd(jrd, handle)
    actor_scheme = urlsplit(actor_id).scheme.lower()
    server = authority_of(actor_id)
    if actor_scheme == scheme.lower() and same_authority(server, host, scheme):
        return actor_id
    confirmation = webfinger_url(user, host, scheme=actor_scheme, server=server)
    confirmed = actor_id_from_jrd(await fetcher.fetch_jrd(confirmation), handle)
    if confirmed != actor_id:
        raise WebFingerError(
            handle,
            f"{host} names the actor {actor_id}, but {server} does not confirm it "
            f"(it answers {confirmed})",
        )
    return actor_id
