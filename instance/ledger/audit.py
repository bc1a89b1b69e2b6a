"""Auditing an agreement: do both parties' instances hold the same state of it?

Each instance keeps its own record of an agreement its agent is party to (the
proposer's is canonical, the other one a copy updated by every step it saw). An audit,
run for one party, reads the other party's instance's record (a GET signed by that
party: the other instance shows its record only to the parties) and compares the two,
field by field: the agreement's state and, for each commitment, what was promised and
how much of it was fulfilled. Each side's view is also summed up in a digest (SHA-256
of its canonical JSON), which two parties can compare without showing each other more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import rfc8785
from sqlalchemy import select

from federation import FetchError, HttpSignatureAuth, SafeFetcher, load_private_key
from instance.ledger.exchange import agreement_document
from instance.problems import Problem
from instance.services import Services
from instance.store.models import Agent, Agreement, Commitment
from vocab import jsontext

__all__ = ["AuditReport", "audit", "comparable", "differences", "state_digest"]

#: The commitment properties both sides must agree on.
COMMITMENT_FIELDS = (
    "action",
    "provider",
    "receiver",
    "resourceConformsTo",
    "resourceQuantity",
    "effortQuantity",
    "satisfies",
    "fulfilledQuantity",
    "finished",
)


def _commitments(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for key in ("stipulates", "stipulatesReciprocal"):
        value = document.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping):
                found.append(item)
    return found


def comparable(document: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an agreement record both parties must hold the same."""
    return {
        "id": document.get("id"),
        "state": document.get("oce:state"),
        "commitments": {
            str(c.get("id")): {
                name: c.get(name, False if name == "finished" else None)
                for name in COMMITMENT_FIELDS
            }
            for c in _commitments(document)
        },
    }


def state_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of the comparable view in canonical JSON (RFC 8785)."""
    return hashlib.sha256(bytes(rfc8785.dumps(comparable(document)))).hexdigest()


def differences(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[str]:
    """Every field where the two records differ, as readable lines."""
    here, there = comparable(ours), comparable(theirs)
    found: list[str] = []
    for name in ("id", "state"):
        if here[name] != there[name]:
            found.append(f"{name}: {here[name]!r} here, {there[name]!r} there")
    mine, yours = here["commitments"], there["commitments"]
    for commitment in sorted(set(mine) | set(yours)):
        if commitment not in yours:
            found.append(f"{commitment}: recorded here only")
        elif commitment not in mine:
            found.append(f"{commitment}: recorded there only")
        else:
            for name in COMMITMENT_FIELDS:
                if mine[commitment][name] != yours[commitment][name]:
                    found.append(
                        f"{commitment} {name}: {mine[commitment][name]!r} here, "
                        f"{yours[commitment][name]!r} there"
                    )
    return found


@dataclass
class AuditReport:
    agreement: str
    counterparty: str
    digest_here: str
    digest_there: str
    differences: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.differences


async def local_record(svc: Services, uri: str) -> tuple[Agreement, dict[str, Any]]:
    """This instance's record of agreement ``uri`` (404 when it has none)."""
    async with svc.db.read() as session:
        row = await session.scalar(select(Agreement).where(Agreement.uri == uri))
        if row is None:
            raise Problem(404, f"no agreement {uri} is recorded here", field="agreement")
        commitments = (
            await session.scalars(
                select(Commitment).where(Commitment.agreement_id == row.id).order_by(Commitment.id)
            )
        ).all()
    return row, agreement_document(row, commitments)


async def audit(svc: Services, agent: Agent, uri: str) -> AuditReport:
    """Compare our record of agreement ``uri`` with the other party's instance's."""
    me = svc.urls.actor(agent.username)
    row, ours = await local_record(svc, uri)
    if me not in (row.proposer, row.counterparty):
        raise Problem(403, f"{me} is not a party to {uri}", field="agreement")
    other = row.counterparty if me == row.proposer else row.proposer
    parts = urlsplit(other)
    records = f"{parts.scheme}://{parts.netloc}/records?id={quote(uri, safe='')}"
    fetcher = SafeFetcher(
        svc.http,
        HttpSignatureAuth(svc.urls.key(agent.username), load_private_key(agent.private_key_pem)),
        allow_private_network=svc.settings.allow_private_network,
        parse_json=jsontext.loads,
    )
    try:
        theirs = await fetcher.fetch_object(records, check_id=False)
    except FetchError as exc:
        raise Problem(502, f"cannot read {other}'s record of {uri}: {exc}") from None
    return AuditReport(
        uri, other, state_digest(ours), state_digest(theirs), differences(ours, theirs)
    )
