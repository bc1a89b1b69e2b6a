"""Plans and processes (VF Plan, Process; FEP-3264).

Rules:

* a Plan and a Process have an ``id`` and a ``name`` (both REQUIRED by FEP-3264);
* a process's ``hasInput`` flows have actions that can be inputs, its ``hasOutput``
  flows actions that can be outputs (``vf:inputOutput`` in the actions table), and
  an embedded flow that names its process (``inputOf``/``outputOf``) names this one;
* an embedded item of a plan that names its plan (``plannedWithin``) names this one;
* ``hasEnd`` is not before ``hasBeginning``.
"""

# prop() returns dataclasses.field(...); ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from vocab.actions import get_action
from vocab.errors import InvalidObject
from vocab.objects.agreements import Commitment
from vocab.objects.base import ASObject, embedded, register
from vocab.objects.events import EconomicEvent
from vocab.objects.fields import BOOL, DATETIME, IRI, IRIS, TEXT, TEXTS, prop
from vocab.objects.flows import check_times
from vocab.objects.proposals import Intent

__all__ = ["Plan", "Process"]

Flow = Commitment | EconomicEvent | Intent


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Process(ASObject):
    """An activity that changes inputs into outputs (VF Process)."""

    TYPE: ClassVar[str] = "Process"

    has_beginning: datetime | None = prop("hasBeginning", DATETIME)
    has_end: datetime | None = prop("hasEnd", DATETIME)
    finished: bool = prop("finished", BOOL, default=False)
    has_input: tuple[Flow | str, ...] = prop(
        "hasInput", embedded("Commitment", "EconomicEvent", "Intent")
    )
    has_output: tuple[Flow | str, ...] = prop(
        "hasOutput", embedded("Commitment", "EconomicEvent", "Intent")
    )
    based_on: str | None = prop("basedOn", IRI)
    in_scope_of: str | None = prop("inScopeOf", IRI)
    planned_within: str | None = prop("plannedWithin", IRI)
    classified_as: tuple[str, ...] = prop("classifiedAs", TEXTS)
    note: str | None = prop("note", TEXT)

    def _validate(self) -> None:
        if not self.name:
            raise InvalidObject("/name", "missing: FEP-3264 requires a process's name")
        check_times(self.has_beginning, self.has_end)
        for key, flows, side in (
            ("hasInput", self.has_input, "input"),
            ("hasOutput", self.has_output, "output"),
        ):
            for i, flow in enumerate(flows):
                if isinstance(flow, str):
                    continue
                where = f"/{key}" if len(flows) == 1 else f"/{key}/{i}"
                if flow.action is not None:
                    action = get_action(flow.action)
                    if not (action.can_be_input if side == "input" else action.can_be_output):
                        raise InvalidObject(
                            f"{where}/action",
                            f"{action.name} cannot be a process {side} "
                            f"(inputOutput {action.input_output})",
                        )
                named = flow.input_of if side == "input" else flow.output_of
                if named is not None and self.id is not None and named != self.id:
                    raise InvalidObject(f"{where}/{side}Of", f"names {named}, not this process")


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Plan(ASObject):
    """Processes and commitments that make up a body of planned work (VF Plan)."""

    TYPE: ClassVar[str] = "Plan"

    due: datetime | None = prop("due", DATETIME)
    plan_includes: tuple[Process | Commitment | Intent | str, ...] = prop(
        "planIncludes", embedded("Process", "Commitment", "Intent")
    )
    has_independent_demand: tuple[str, ...] = prop("hasIndependentDemand", IRIS)
    note: str | None = prop("note", TEXT)

    def _validate(self) -> None:
        if not self.name:
            raise InvalidObject("/name", "missing: FEP-3264 requires a plan's name")
        for i, item in enumerate(self.plan_includes):
            if isinstance(item, str) or item.planned_within is None or self.id is None:
                continue
            if item.planned_within != self.id:
                where = "/planIncludes" if len(self.plan_includes) == 1 else f"/planIncludes/{i}"
                raise InvalidObject(
                    f"{where}/plannedWithin", f"names {item.planned_within}, not this plan"
                )
