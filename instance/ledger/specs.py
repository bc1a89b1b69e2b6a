"""Resource specifications of other instances, read once and remembered.

Whether an account may go below zero is a property of its specification (a mutual
credit currency says so). When a local agent's resource conforms to a peer's
specification, we read that specification before the ledger needs it: outside any
transaction, since it is a network fetch.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from federation import FetchError
from instance.ledger.resources import MUTUAL_CREDIT
from instance.services import Services
from instance.store.models import ResourceSpecification
from vocab import ResourceSpecification as SpecObject
from vocab import VocabError, read

__all__ = ["ensure_specification"]

log = logging.getLogger("oce.specs")


async def ensure_specification(svc: Services, uri: str | None) -> None:
    """Record the peer's specification ``uri`` if it is one we have not read yet.

    A specification that cannot be read is recorded as an ordinary kind (no mutual
    credit), which is the safe reading: balances then stop at zero.
    """
    if uri is None or svc.urls.is_local(uri):
        return
    async with svc.db.read() as session:
        if await session.scalar(
            select(ResourceSpecification.id).where(ResourceSpecification.uri == uri)
        ):
            return
    name, unit, mutual, limit = "", None, False, None
    try:
        spec = read(await svc.peers.fetcher.fetch_object(uri))
        if isinstance(spec, SpecObject):
            name, unit = spec.name or "", spec.default_unit_of_resource
            mutual = MUTUAL_CREDIT in spec.resource_classified_as
            if mutual and spec.credit_limit is not None and spec.credit_limit.value >= 0:
                limit = spec.credit_limit.value
    except (FetchError, VocabError) as exc:
        log.info("cannot read the resource specification %s: %s", uri, exc)
    async with svc.db.write() as session:
        if not await session.scalar(
            select(ResourceSpecification.id).where(ResourceSpecification.uri == uri)
        ):
            session.add(
                ResourceSpecification(
                    uri=uri,
                    name=name[:500],
                    default_unit=unit,
                    mutual_credit=mutual,
                    credit_limit=limit,
                )
            )
