"""The 19 ValueFlows actions and their effects: one table, checked against the ontology.

Each row repeats what ``valueflows-1.0.0.ttl`` states for the action, value by value
and spelled as the ontology spells it (``tests/vocab/test_actions.py`` parses the
ontology with rdflib and compares). Code that needs to know what an action does reads
these columns; nothing in oce compares action names to decide an effect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Final, Literal

from vocab.errors import ActionError
from vocab.namespaces import VF, VF_LEGACY, VF_PREFIXES

__all__ = [
    "ACTIONS",
    "AccountableEffect",
    "Action",
    "ContainedEffect",
    "CreateResource",
    "EventQuantity",
    "InputOutput",
    "LocationEffect",
    "QuantityEffect",
    "StageEffect",
    "StateEffect",
    "get_action",
]

InputOutput = Literal["input", "output", "outputInput", "notApplicable"]
CreateResource = Literal["optional", "optionalTo", "notApplicable"]
EventQuantity = Literal["resource", "effort", "both"]
# accountingEffect and onhandEffect share their values.
QuantityEffect = Literal[
    "increment", "decrement", "decrementIncrement", "incrementTo", "notApplicable"
]
LocationEffect = Literal["new", "update", "updateTo", "notApplicable"]
ContainedEffect = Literal["update", "remove", "notApplicable"]
AccountableEffect = Literal["new", "updateTo", "notApplicable"]
StageEffect = Literal["update", "notApplicable"]
StateEffect = Literal["update", "updateTo", "notApplicable"]
TermStatus = Literal["stable", "testing", "unstable"]


@dataclass(frozen=True, slots=True)
class Action:
    """One ValueFlows action with the effect properties the ontology gives it."""

    name: str
    label: str
    status: TermStatus
    input_output: InputOutput
    pairs_with: str  # an action name, or "notApplicable"
    create_resource: CreateResource
    event_quantity: EventQuantity
    accounting_effect: QuantityEffect
    onhand_effect: QuantityEffect
    location_effect: LocationEffect
    contained_effect: ContainedEffect
    accountable_effect: AccountableEffect
    stage_effect: StageEffect
    state_effect: StateEffect

    @property
    def iri(self) -> str:
        """The action's IRI in the ValueFlows 1.0 namespace."""
        return VF + self.name

    @property
    def uses_resource_quantity(self) -> bool:
        """Whether a flow of this action may state ``resourceQuantity``."""
        return self.event_quantity != "effort"

    @property
    def uses_effort_quantity(self) -> bool:
        """Whether a flow of this action may state ``effortQuantity``."""
        return self.event_quantity != "resource"

    @property
    def changes_quantities(self) -> bool:
        """Whether an event of this action changes an inventoried resource's quantities."""
        return self.accounting_effect != "notApplicable" or self.onhand_effect != "notApplicable"

    @property
    def can_be_input(self) -> bool:
        """Whether a flow of this action can be an input of a process."""
        return self.input_output in ("input", "outputInput")

    @property
    def can_be_output(self) -> bool:
        """Whether a flow of this action can be an output of a process."""
        return self.input_output in ("output", "outputInput")


_NA: Final = "notApplicable"

# Columns: name, label, status, inputOutput, pairsWith, createResource, eventQuantity,
# accountingEffect, onhandEffect, locationEffect, containedEffect, accountableEffect,
# stageEffect, stateEffect.
# fmt: off
_ROWS: tuple[Action, ...] = (
    Action("accept", "accept", "stable", "input", "modify", _NA, "resource",
           _NA, "decrement", "update", _NA, _NA, _NA, "update"),
    Action("cite", "cite", "stable", "input", _NA, _NA, "resource",
           _NA, _NA, _NA, _NA, _NA, _NA, "update"),
    Action("combine", "combine", "unstable", "input", _NA, _NA, "resource",
           _NA, "decrement", _NA, "update", _NA, _NA, "update"),
    Action("consume", "consume", "stable", "input", _NA, _NA, "resource",
           "decrement", "decrement", _NA, _NA, _NA, _NA, "update"),
    Action("copy", "copy", "unstable", _NA, _NA, "optionalTo", "resource",
           "incrementTo", "incrementTo", "new", _NA, "new", _NA, "updateTo"),
    Action("deliverService", "deliver service", "stable", "outputInput", _NA, _NA, "resource",
           _NA, _NA, _NA, _NA, _NA, _NA, _NA),
    Action("dropoff", "dropoff", "stable", "output", "pickup", _NA, "resource",
           _NA, "increment", "update", _NA, _NA, "update", "update"),
    Action("lower", "lower", "stable", _NA, _NA, "optional", "resource",
           "decrement", "decrement", _NA, _NA, "new", _NA, "update"),
    Action("modify", "modify", "stable", "output", "accept", _NA, "resource",
           _NA, "increment", "update", _NA, _NA, "update", "update"),
    Action("move", "move", "testing", _NA, _NA, "optionalTo", "resource",
           "decrementIncrement", "decrementIncrement", "updateTo", _NA, _NA, _NA, "updateTo"),
    Action("pickup", "pickup", "stable", "input", "dropoff", _NA, "resource",
           _NA, "decrement", "update", _NA, _NA, _NA, "update"),
    Action("produce", "produce", "stable", "output", _NA, "optional", "resource",
           "increment", "increment", "new", _NA, "new", "update", "update"),
    Action("raise", "raise", "stable", _NA, _NA, "optional", "resource",
           "increment", "increment", _NA, _NA, "new", _NA, "update"),
    Action("separate", "unpack", "testing", "output", _NA, _NA, "resource",
           _NA, "increment", _NA, "remove", _NA, "update", "update"),
    Action("transfer", "transfer", "stable", _NA, _NA, "optionalTo", "resource",
           "decrementIncrement", "decrementIncrement", "updateTo", _NA, "updateTo", _NA,
           "updateTo"),
    Action("transferAllRights", "transfer all rights", "testing", _NA, _NA, "optionalTo",
           "resource", "decrementIncrement", _NA, _NA, _NA, "updateTo", _NA, "updateTo"),
    Action("transferCustody", "transfer custody", "testing", _NA, _NA, "optionalTo", "resource",
           _NA, "decrementIncrement", "updateTo", _NA, _NA, _NA, "updateTo"),
    Action("use", "use", "stable", "input", _NA, _NA, "both",
           _NA, _NA, _NA, _NA, _NA, _NA, "update"),
    Action("work", "work", "stable", "input", _NA, _NA, "effort",
           _NA, _NA, _NA, _NA, _NA, _NA, _NA),
)
# fmt: on

ACTIONS: Mapping[str, Action] = MappingProxyType({a.name: a for a in _ROWS})


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", lambda m: "-" + m.group(1).lower(), name)


@cache
def _spellings() -> dict[str, Action]:
    """Every accepted spelling of every action, built on first use."""
    table: dict[str, Action] = {}
    for action in _ROWS:
        for local in {action.name, _kebab(action.name)}:
            for prefix in ("", VF, *VF_LEGACY, *VF_PREFIXES):
                table[prefix + local] = action
    return table


def get_action(name: str, field: str = "action") -> Action:
    """Return the action named in camelCase, kebab-case, ``vf:`` form or any VF IRI.

    Raises :class:`~vocab.errors.ActionError` when no ValueFlows action has that name.
    """
    action = ACTIONS.get(name) if isinstance(name, str) else None
    if action is not None:
        return action
    if isinstance(name, str):
        found = _spellings().get(name.strip())
        if found is not None:
            return found
    shown = repr(name) if isinstance(name, str) else type(name).__name__
    raise ActionError(field, f"unknown action {shown}: not one of the 19 ValueFlows actions")
