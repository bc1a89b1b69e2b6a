"""``oce import-ocp``: bring a collective's records out of OCP (FairCoop's valuenetwork).

Reads a Django ``dumpdata`` export (JSON) of OCP's ``valueaccounting`` models, written
from the models as FreedomCoop/valuenetwork publishes them, and maps:

agents (with their agent type's party type), units (to OM2 ids), resource types,
resources with their owner, and economic events; docs/portability.md has the table of
what becomes what.

Events come in as the record of what happened (state ``applied``, verified
``ocp-import``); they do not move quantities again, since OCP's resources already hold
the result. Not mapped: agent associations (memberships: not mapped onto oce's
cooperative tables yet), processes, exchanges, transfers, commitments and orders, value
equations and distributions, locations, FairCoin addresses, users and passwords. The
importer says how many of each it left out.

Everything happens in one transaction; an unknown unit, a dangling reference or a
username that exists already changes nothing and names the record.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from instance.agents import create_agent, get_agent
from instance.problems import Problem
from instance.store.models import EconomicEvent, EconomicResource, ResourceSpecification
from instance.urls import Urls

__all__ = ["OcpImported", "import_ocp"]

APP = "valueaccounting"
MAX_RECORDS = 2_000_000
#: OCP unit abbreviations and names, lower case, to OM2 ids.
UNITS = {
    "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
    "min": "minute-Time", "minute": "minute-Time", "day": "day", "days": "day",
    "kg": "kilogram", "kilogram": "kilogram", "g": "gram", "gram": "gram",
    "l": "litre", "liter": "litre", "litre": "litre", "m": "metre", "meter": "metre",
    "each": "one", "unit": "one", "units": "one", "u": "one", "pc": "one", "piece": "one",
}  # fmt: skip
_USERNAME = re.compile(r"[^a-z0-9_]+")


@dataclass
class OcpImported:
    agents: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)


def _problem(detail: str) -> Problem:
    return Problem(400, detail, field="file")


def _by_model(records: Any) -> dict[str, dict[Any, dict[str, Any]]]:
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise _problem("an OCP dumpdata export is a JSON list of records")
    found: dict[str, dict[Any, dict[str, Any]]] = {}
    for n, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("fields"), dict):
            raise _problem(f"record {n} is not a dumpdata record (model, pk, fields)")
        found.setdefault(str(record.get("model")), {})[record.get("pk")] = record["fields"]
    return found


def _decimal(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _problem(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise _problem(f"{where}: {value!r} is not a number")
    return number


def _username(nick: str) -> str:
    name = _USERNAME.sub("_", nick.lower()).strip("_")[:64]
    return name or "agent"


async def import_ocp(
    session: AsyncSession,
    urls: Urls,
    records: Any,
    *,
    units: dict[str, str] | None = None,
) -> OcpImported:
    """Create the agents, specifications, resources and events of an OCP export."""
    data = _by_model(records)
    table = {**UNITS, **{k.lower(): v for k, v in (units or {}).items()}}
    done = OcpImported()
    for model, rows in data.items():
        if model not in {f"{APP}.{m}" for m in _MAPPED}:
            done.skipped[model] += len(rows)

    def of(name: str) -> dict[Any, dict[str, Any]]:
        return data.get(f"{APP}.{name}", {})

    def unit_of(pk: Any, where: str) -> str:
        unit = of("unit").get(pk)
        if unit is None:
            raise _problem(f"{where}: unit {pk!r} is not in the export")
        if (
            unit.get("unit_type") in ("value", "quantity")
            and str(unit.get("abbrev", "")).lower() not in table
        ):
            return "one"
        for key in (unit.get("abbrev"), unit.get("name")):
            if isinstance(key, str) and key.lower() in table:
                return table[key.lower()]
        raise _problem(
            f"{where}: OCP unit {unit.get('name')!r} ({unit.get('abbrev')!r}) has no OM2 id "
            "here; name one with --unit ABBREV=om2id"
        )

    actors: dict[Any, str] = {}
    agent_ids: dict[Any, int] = {}
    for pk, fields in of("economicagent").items():
        nick = fields.get("nick")
        if not isinstance(nick, str) or not nick:
            raise _problem(f"economicagent {pk}: no nick")
        username = _username(nick)
        if await get_agent(session, username) is not None:
            raise Problem(
                409, f"economicagent {pk}: an agent named {username!r} exists here", field="file"
            )
        agent_type = of("agenttype").get(fields.get("agent_type"), {})
        agent = await create_agent(
            session,
            username,
            kind="person"
            if agent_type.get("party_type", "individual") == "individual"
            else "organization",
            name=str(fields.get("name") or nick)[:200],
            summary=str(fields.get("description") or "")[:5000],
        )
        actors[pk] = urls.actor(username)
        agent_ids[pk] = agent.id
        done.agents.append(username)
    specs: dict[Any, tuple[str | None, str | None]] = {}
    for pk, fields in of("economicresourcetype").items():
        uri = f"{urls.base}/specs/ocp-{pk}"
        unit = unit_of(fields["unit"], f"economicresourcetype {pk}") if fields.get("unit") else None
        session.add(
            ResourceSpecification(
                uri=uri, name=str(fields.get("name", ""))[:500], default_unit=unit
            )
        )
        specs[pk] = (uri, unit)
        done.counts["resource specifications"] += 1
    owners = {
        role["resource"]: role["agent"]
        for role in of("agentresourcerole").values()
        if of("agentresourceroletype").get(role.get("role"), {}).get("is_owner")
    }
    for pk, fields in of("economicresource").items():
        owner = owners.get(pk)
        if owner not in agent_ids:
            done.skipped["valueaccounting.economicresource (no owner in the export)"] += 1
            continue
        spec, unit = specs.get(fields.get("resource_type"), (None, None))
        if spec is None:
            raise _problem(
                f"economicresource {pk}: resource type {fields.get('resource_type')!r} "
                "is not in the export"
            )
        quantity = _decimal(fields.get("quantity", 0), f"economicresource {pk}.quantity")
        session.add(
            EconomicResource(
                uri=f"{urls.base}/resources/ocp-{pk}",
                agent_id=agent_ids[owner],
                conforms_to=spec,
                name=str(fields.get("identifier") or "")[:500],
                unit=unit or "one",
                accounting_quantity=quantity,
                onhand_quantity=quantity,
            )
        )
        done.counts["resources"] += 1
    for pk, fields in of("economicevent").items():
        where = f"economicevent {pk}"
        event_type = of("eventtype").get(fields.get("event_type"))
        if event_type is None:
            raise _problem(f"{where}: event type {fields.get('event_type')!r} is not in the export")
        unit = (
            unit_of(fields["unit_of_quantity"], where) if fields.get("unit_of_quantity") else "one"
        )
        action = _action(str(event_type.get("resource_effect", "=")), unit)
        provider = actors.get(fields.get("from_agent")) or actors.get(fields.get("context_agent"))
        receiver = actors.get(fields.get("to_agent")) or provider
        if provider is None or receiver is None:
            done.skipped["valueaccounting.economicevent (agents not in the export)"] += 1
            continue
        quantity = _decimal(fields.get("quantity", 0), f"{where}.quantity")
        spec = specs.get(fields.get("resource_type"), (None, None))[0]
        uri = f"{urls.base}/events/ocp-{pk}"
        effort = action == "work"
        when = datetime.fromisoformat(str(fields.get("event_date"))).replace(tzinfo=UTC)
        measure = {"hasUnit": unit, "hasNumericalValue": str(quantity)}
        body = {
            "id": uri,
            "type": "EconomicEvent",
            "action": action,
            "provider": provider,
            "receiver": receiver,
            "resourceConformsTo": spec,
            ("effortQuantity" if effort else "resourceQuantity"): measure,
            "hasPointInTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "note": str(fields.get("description") or "")[:5000],
        }
        session.add(
            EconomicEvent(
                uri=uri,
                action=action,
                provider=provider,
                receiver=receiver,
                resource_conforms_to=spec,
                resource_unit=None if effort else unit,
                resource_quantity=None if effort else quantity,
                effort_unit=unit if effort else None,
                effort_quantity=quantity if effort else None,
                has_point_in_time=when,
                state="applied",
                signer=provider,
                verified_by="ocp-import",
                body=json.dumps({k: v for k, v in body.items() if v not in (None, "")}),
            )
        )
        done.counts["events"] += 1
    done.skipped.update(
        {"valueaccounting.agentassociation (memberships)": len(of("agentassociation"))}
    )
    await session.flush()
    return done


#: The models read (the rest are counted as left out).
_MAPPED = (
    "economicagent", "agenttype", "unit", "economicresourcetype", "economicresource",
    "agentresourcerole", "agentresourceroletype", "economicevent", "eventtype",
)  # fmt: skip


def _action(effect: str, unit: str) -> str:
    if effect == "x":
        return "transfer"
    if effect in ("+", "+~"):
        return "produce"
    if effect in ("-", "<"):
        return "consume"
    if effect == "=" and unit in ("hour", "minute-Time", "day"):
        return "work"
    return "use"
