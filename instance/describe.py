"""Words for proposals: the same sentences on their pages and in the Notes Mastodon shows.

Everything here reads a typed :class:`vocab.Proposal` (so a page, a new post and an
edited post say the same) and the names of resource kinds we know; it writes plain
text, which the templates and :mod:`instance.outbox.fediverse` escape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.store.models import ResourceSpecification
from vocab import Intent, Measure, Proposal, canonical_decimal, unit_label

__all__ = [
    "IntentWords",
    "ProposalWords",
    "amount",
    "describe_proposal",
    "location_words",
    "resource_labels",
]

#: How each action reads before its amount; an action not listed reads "<action>: ".
_ACTION_PHRASES = {
    "transfer": "",
    "transferAllRights": "the rights to ",
    "transferCustody": "custody of ",
    "deliverService": "",
    "work": "work: ",
    "use": "use of ",
    "cite": "citation of ",
    "consume": "",
    "produce": "",
}
#: Longest label shown for a resource kind or a place.
_MAX_LABEL = 200


def amount(measure: Measure) -> str:
    """``5 kilogram``; a count (unit ``one``) is just the number."""
    number = canonical_decimal(measure.value)
    return number if measure.unit == "one" else f"{number} {unit_label(measure.unit)}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _kind_label(uri: str, labels: Mapping[str, str]) -> str:
    """A resource kind's name as we know it, else the last segment of its id."""
    known = labels.get(uri)
    if known:
        return _short(known)
    parts = urlsplit(uri)
    segment = (parts.fragment or parts.path.rstrip("/").rsplit("/", 1)[-1]) if parts.scheme else ""
    return _short(unquote(segment).replace("_", " ") or uri)


@dataclass(frozen=True, slots=True)
class IntentWords:
    """One intent in words: ``5 kilogram of Bread (30 kilogram still available)``."""

    action: str
    amount: str
    what: str
    what_url: str | None
    available: str
    #: Counted in units (``one``): "10 loaves", not "10 of loaves".
    is_count: bool = False

    @property
    def lead(self) -> str:
        """What the action says before the amount (``the rights to ``, ``work: ``)."""
        return _ACTION_PHRASES.get(self.action, f"{self.action}: ")

    @property
    def joiner(self) -> str:
        """Between the amount and the kind: ``5 kilogram of bread``, ``10 loaves``."""
        return " " if self.is_count else " of "

    @property
    def phrase(self) -> str:
        """The intent without its availability."""
        if not self.what:
            return f"{self.lead}{self.amount}"
        return f"{self.lead}{self.amount}{self.joiner}{self.what}"

    @property
    def sentence(self) -> str:
        return (
            f"{self.phrase} ({self.available} still available)" if self.available else self.phrase
        )


@dataclass(frozen=True, slots=True)
class ProposalWords:
    """A proposal in words, for a page or a post."""

    purpose: str
    kind: str
    title: str
    primary_heading: str
    primary: tuple[IntentWords, ...]
    reciprocal: tuple[IntentWords, ...]
    location: str


def _intent_words(intent: Intent, labels: Mapping[str, str]) -> IntentWords:
    measure = intent.resource_quantity or intent.effort_quantity
    available = intent.available_quantity
    what = intent.resource_conforms_to
    return IntentWords(
        action=intent.action,
        amount=amount(measure) if measure else "",
        what=_kind_label(what, labels) if what else "",
        what_url=what if what and what.startswith(("https://", "http://")) else None,
        available=amount(available) if available is not None else "",
        is_count=measure is not None and measure.unit == "one",
    )


def location_words(location: Any) -> str:
    """A place as people read it: its name, else its address, else its coordinates."""
    if isinstance(location, list):
        location = location[0] if location else None
    if isinstance(location, str):
        return _short(location)
    if not isinstance(location, Mapping):
        return ""
    for key in ("name", "address"):
        value = location.get(key)
        if isinstance(value, str) and value.strip():
            return _short(value)
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if isinstance(latitude, int | Decimal) and isinstance(longitude, int | Decimal):
        return f"{canonical_decimal(Decimal(latitude))}, {canonical_decimal(Decimal(longitude))}"
    return ""


def describe_proposal(proposal: Proposal, labels: Mapping[str, str]) -> ProposalWords:
    """The words for ``proposal``; ``labels`` names resource kinds by id."""
    offer = proposal.purpose == "offer"
    kind = "Offer" if offer else "Request"

    def words(intents: Sequence[Intent | str]) -> tuple[IntentWords, ...]:
        return tuple(_intent_words(i, labels) for i in intents if isinstance(i, Intent))

    return ProposalWords(
        purpose=proposal.purpose,
        kind=kind,
        title=_short(proposal.name or "") or kind,
        primary_heading="Offered" if offer else "Requested",
        primary=words(proposal.publishes),
        reciprocal=words(proposal.reciprocal),
        location=location_words(proposal.extra.get("location")),
    )


async def resource_labels(session: AsyncSession, proposal: Proposal) -> dict[str, str]:
    """The names of the resource kinds ``proposal``'s intents name, where we know them."""
    uris = {
        intent.resource_conforms_to
        for intent in proposal.intents()
        if isinstance(intent, Intent) and intent.resource_conforms_to
    }
    if not uris:
        return {}
    rows = await session.execute(
        select(ResourceSpecification.uri, ResourceSpecification.name).where(
            ResourceSpecification.uri.in_(uris)
        )
    )
    return {uri: name for uri, name in rows if name}
