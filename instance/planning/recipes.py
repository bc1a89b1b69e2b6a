"""Recipes (VF Recipe, RecipeProcess, RecipeExchange, RecipeFlow) and planning from them.

A recipe says how to make a kind of resource (its ``primaryOutput``): the recipe
processes with their input and output flows, and the recipe exchanges that bring in
what the processes need. :func:`read_recipe` checks one as a client posts it;
:func:`plan_from_recipe` turns one into a Plan for a quantity of the output, every
flow scaled by the same exact factor (``wanted / output``): a flow whose scaled
quantity has no exact decimal form is refused rather than rounded. The plan's
commitments are the author's, except those the caller assigns to other agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from instance.activities import first_type
from instance.problems import Problem
from vocab import Measure, VocabError, get_action

__all__ = ["MAX_RECIPE_FLOWS", "Scaled", "mint_recipe", "plan_from_recipe", "read_recipe"]

MAX_RECIPE_ITEMS = 50
MAX_RECIPE_FLOWS = 200
#: Digits a scaled quantity may have (the ledger's decimals hold 30 significant digits).
MAX_DIGITS = 30

_SIDES = {
    "RecipeProcess": (("hasRecipeInput", "input"), ("hasRecipeOutput", "output")),
    "RecipeExchange": (
        ("recipeStipulates", "clause"),
        ("recipeStipulatesReciprocal", "reciprocal"),
    ),
}

#: The property of a recipe exchange's flow naming the exchange, by side.
_CLAUSE_OF = {"clause": "recipeClauseOf", "reciprocal": "recipeReciprocalClauseOf"}


def _listed(value: Any, field: str, limit: int) -> list[Any]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    if len(items) > limit:
        raise Problem(400, f"at most {limit} items", field=field)
    return items


def _flow(flow: Any, field: str, side: str) -> Measure:
    if not isinstance(flow, dict) or first_type(flow) != "RecipeFlow":
        raise Problem(400, "expected an embedded RecipeFlow", field=field)
    try:
        action = get_action(flow.get("action", ""), f"{field}.action")
    except VocabError as exc:
        raise Problem(400, str(exc), field=f"{field}.action") from None
    if side == "input" and not action.can_be_input:
        raise Problem(400, f"{action.name} cannot be a process input", field=f"{field}.action")
    if side == "output" and not action.can_be_output:
        raise Problem(400, f"{action.name} cannot be a process output", field=f"{field}.action")
    keys = [k for k in ("resourceQuantity", "effortQuantity") if k in flow]
    if len(keys) != 1:
        raise Problem(
            400, "a recipe flow states one of resourceQuantity, effortQuantity", field=field
        )
    try:
        measure = Measure.parse(flow[keys[0]], f"{field}.{keys[0]}")
    except VocabError as exc:
        raise Problem(400, str(exc), field=f"{field}.{keys[0]}") from None
    if measure.value <= 0:
        raise Problem(400, "must be greater than zero", field=f"{field}.{keys[0]}")
    return measure


def read_recipe(document: Any, field: str = "object") -> dict[str, Any]:
    """Check a (normalized) recipe; return it. A 400 names what is wrong."""
    if not isinstance(document, dict) or first_type(document) != "Recipe":
        raise Problem(400, "expected an embedded Recipe", field=field)
    if not isinstance(document.get("name"), str) or not document["name"]:
        raise Problem(400, "a recipe has a name", field=f"{field}.name")
    if not isinstance(document.get("primaryOutput"), str):
        raise Problem(
            400,
            "a recipe names the resource specification it makes",
            field=f"{field}.primaryOutput",
        )
    count = 0
    outputs = 0
    items = _listed(document.get("recipeIncludes"), f"{field}.recipeIncludes", MAX_RECIPE_ITEMS)
    if not items:
        raise Problem(400, "a recipe includes its processes", field=f"{field}.recipeIncludes")
    for i, item in enumerate(items):
        where = f"{field}.recipeIncludes[{i}]"
        kind = first_type(item) if isinstance(item, dict) else None
        if kind not in _SIDES:
            raise Problem(400, "a recipe includes RecipeProcesses and RecipeExchanges", field=where)
        for key, side in _SIDES[kind]:
            for j, flow in enumerate(_listed(item.get(key), f"{where}.{key}", MAX_RECIPE_FLOWS)):
                _flow(flow, f"{where}.{key}[{j}]", side)
                count += 1
                if side == "output" and flow.get("resourceConformsTo") == document["primaryOutput"]:
                    outputs += 1
    if count > MAX_RECIPE_FLOWS:
        raise Problem(400, f"a recipe has at most {MAX_RECIPE_FLOWS} flows", field=field)
    if outputs != 1:
        raise Problem(
            400,
            "exactly one process output conforms to the recipe's primaryOutput",
            field=f"{field}.primaryOutput",
        )
    return document


def mint_recipe(document: dict[str, Any], uri: str, author: str) -> dict[str, Any]:
    """Ids for the recipe and, as fragments of it, its processes, exchanges and flows."""
    recipe = {**document, "id": uri, "attributedTo": author}
    included = []
    n = 0
    for i, item in enumerate(_listed(document.get("recipeIncludes"), "", MAX_RECIPE_ITEMS)):
        made = {
            **item,
            "id": f"{uri}#{'process' if first_type(item) == 'RecipeProcess' else 'exchange'}-{i}",
        }
        for key, side in _SIDES[first_type(item) or ""]:
            flows = []
            for flow in _listed(item.get(key), "", MAX_RECIPE_FLOWS):
                n += 1
                minted = {**flow, "id": f"{uri}#flow-{n}"}
                # The exchange's clauses name it back (VF recipeClauseOf and its
                # reciprocal), as a process's flows are named by hasRecipeInput/Output.
                if side in _CLAUSE_OF:
                    minted[_CLAUSE_OF[side]] = made["id"]
                flows.append(minted)
            made[key] = flows
        included.append(made)
    recipe["recipeIncludes"] = included
    return recipe


@dataclass(frozen=True)
class Scaled:
    """The factor a recipe is scaled by, and how to scale one quantity."""

    factor: Fraction

    def measure(self, measure: Measure, field: str) -> Measure:
        exact = Fraction(measure.value) * self.factor
        denominator = exact.denominator
        for prime in (2, 5):
            while denominator % prime == 0:
                denominator //= prime
        if denominator != 1:
            raise Problem(
                422,
                f"{measure} scaled by {self.factor} is {exact}, which no decimal states "
                "exactly: ask for another quantity",
                field=field,
            )
        value = Decimal(exact.numerator) / Decimal(exact.denominator)
        if len(value.normalize().as_tuple().digits) > MAX_DIGITS:
            raise Problem(422, f"{value} has more than {MAX_DIGITS} digits", field=field)
        try:
            return Measure(value, measure.unit)
        except VocabError as exc:  # more decimal places than a quantity holds
            raise Problem(422, f"scaled, {exc}", field=field) from None


def _output_measure(recipe: dict[str, Any]) -> Measure:
    for item in _listed(recipe.get("recipeIncludes"), "", MAX_RECIPE_ITEMS):
        if first_type(item) != "RecipeProcess":
            continue
        for flow in _listed(item.get("hasRecipeOutput"), "", MAX_RECIPE_FLOWS):
            if flow.get("resourceConformsTo") == recipe["primaryOutput"]:
                return _flow(flow, "recipe", "output")
    raise Problem(422, "the recipe states no output of its primaryOutput", field="recipe")


def _commitment(
    flow: dict[str, Any], scale: Scaled, field: str, provider: str, receiver: str
) -> dict[str, Any]:
    key = "resourceQuantity" if "resourceQuantity" in flow else "effortQuantity"
    made: dict[str, Any] = {
        "type": "Commitment",
        "action": flow["action"],
        key: scale.measure(Measure.parse(flow[key], field), field).to_json(),
        "provider": provider,
        "receiver": receiver,
    }
    for copied in ("resourceConformsTo", "note"):
        if isinstance(flow.get(copied), str):
            made[copied] = flow[copied]
    return made


def plan_from_recipe(
    recipe: dict[str, Any],
    wanted: Measure,
    author: str,
    *,
    name: str | None = None,
    assign: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Plan (as a client would post it) making ``wanted`` of the recipe's output.

    ``assign`` maps a recipe flow's id to the agent who is asked to provide it (for an
    input or a primary clause) or to receive it (a reciprocal clause); every other flow
    is the author's own.
    """
    read_recipe(recipe, "recipe")
    assign = assign or {}
    output = _output_measure(recipe)
    if wanted.unit != output.unit:
        raise Problem(
            422,
            f"the recipe makes its output in {output.unit}, not {wanted.unit}",
            field="quantity",
        )
    if wanted.value <= 0:
        raise Problem(400, "must be greater than zero", field="quantity")
    scale = Scaled(Fraction(wanted.value) / Fraction(output.value))
    includes: list[dict[str, Any]] = []
    for item in _listed(recipe.get("recipeIncludes"), "", MAX_RECIPE_ITEMS):
        kind = first_type(item)
        if kind == "RecipeProcess":
            process: dict[str, Any] = {"type": "Process", "name": item.get("name") or "Process"}
            if isinstance(item.get("id"), str):
                process["basedOn"] = item["id"]
            for key, target in (("hasRecipeInput", "hasInput"), ("hasRecipeOutput", "hasOutput")):
                process[target] = [
                    _commitment(
                        flow,
                        scale,
                        f"recipe.{flow.get('id', key)}",
                        assign.get(flow.get("id", ""), author)
                        if key == "hasRecipeInput"
                        else author,
                        author,
                    )
                    for flow in _listed(item.get(key), "", MAX_RECIPE_FLOWS)
                ]
            includes.append(process)
        elif kind == "RecipeExchange":
            for key in ("recipeStipulates", "recipeStipulatesReciprocal"):
                for flow in _listed(item.get(key), "", MAX_RECIPE_FLOWS):
                    other = assign.get(flow.get("id", ""), author)
                    provider, receiver = (
                        (other, author) if key == "recipeStipulates" else (author, other)
                    )
                    includes.append(
                        _commitment(
                            flow, scale, f"recipe.{flow.get('id', key)}", provider, receiver
                        )
                    )
    return {
        "type": "Plan",
        "name": name or f"{recipe['name']}: {wanted}",
        "planIncludes": includes,
    }
