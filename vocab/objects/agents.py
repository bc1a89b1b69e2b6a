"""Agents as ActivityPub actors (AS Person and Organization; VF's agents are the same).

An agent reference carries what oce needs to address and link an actor; anything else
(``publicKey``, ``icon``, ``endpoints``…) stays in ``extra``. ``agreements``,
``commitments`` and ``resources`` are the collections an oce actor links (oce
namespace terms). Rule: an agent has an ``id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vocab.objects.base import ASObject, register
from vocab.objects.fields import IRI, TEXT, prop

__all__ = ["Agent", "Organization", "Person"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent(ASObject):
    """Fields common to Person and Organization."""

    preferred_username: str | None = prop("preferredUsername", TEXT)
    inbox: str | None = prop("inbox", IRI)
    outbox: str | None = prop("outbox", IRI)
    followers: str | None = prop("followers", IRI)
    following: str | None = prop("following", IRI)
    agreements: str | None = prop("agreements", IRI)
    commitments: str | None = prop("commitments", IRI)
    resources: str | None = prop("resources", IRI)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Person(Agent):
    """A human agent."""

    TYPE: ClassVar[str] = "Person"


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Organization(Agent):
    """An organization with agency of its own."""

    TYPE: ClassVar[str] = "Organization"
