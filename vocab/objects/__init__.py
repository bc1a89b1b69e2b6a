"""Typed ValueFlows objects: frozen dataclasses with snake_case attributes.

References to other objects are ``str`` ids; embedded objects (a Proposal's Intents,
an Agreement's Commitments, a Plan's Processes) are typed objects where they travel
embedded (``Intent | str``). Quantities are :class:`~vocab.quantity.Measure`, times
timezone-aware ``datetime``, actions their canonical camelCase names. Each module's
docstring lists the rules its classes enforce.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vocab.objects.agents import Agent, Organization, Person
from vocab.objects.agreements import Agreement, Commitment
from vocab.objects.base import ASObject, read_typed, write_object
from vocab.objects.events import Claim, EconomicEvent
from vocab.objects.plans import Plan, Process
from vocab.objects.proposals import Intent, Proposal, Purpose
from vocab.objects.resources import EconomicResource, ResourceSpecification

__all__ = [
    "ASObject",
    "Agent",
    "Agreement",
    "Claim",
    "Commitment",
    "EconomicEvent",
    "EconomicResource",
    "Intent",
    "Organization",
    "Person",
    "Plan",
    "Process",
    "Proposal",
    "Purpose",
    "ResourceSpecification",
    "VFObject",
    "object_to_json",
    "parse_typed",
]

VFObject = (
    Proposal
    | Intent
    | Agreement
    | Commitment
    | EconomicEvent
    | EconomicResource
    | ResourceSpecification
    | Process
    | Plan
    | Claim
    | Person
    | Organization
)


def parse_typed(data: Mapping[str, Any], path: str = "") -> VFObject:
    """Build the typed object for canonical JSON, dispatching on its ``type``."""
    obj = read_typed(data, path)
    assert isinstance(obj, VFObject)
    return obj


def object_to_json(obj: ASObject) -> dict[str, Any]:
    """Write a typed object in canonical compact form, without ``@context``."""
    return write_object(obj)
