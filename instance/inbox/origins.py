"""Who may name what: origin checks on the activity as the handlers read it.

The inbox checks the raw JSON before storing an activity (:mod:`instance.inbox.receive`),
but handlers read the *normalized* document, and JSON-LD lets a sender make the two
differ: a context alias (``{"pid": "@id"}``), a compact IRI key (``"as:object"``) or a
full IRI key gives a raw document with no id and a normalized one with any id. So the
same rules run again here, on the normalized activity, before any handler sees it:

* the activity's id is the one received (and so checked), its actor the signer;
* an object the sender creates, changes or offers has its id on the sender's origin,
  and so does every ValueFlows object embedded in it that oce stores under its own
  id (a proposal's intents, an agreement's commitments), and the ``result`` of any
  activity (a finalized agreement).

Everything raises :class:`~federation.OriginError`; processing finishes the item as
refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from federation import OriginError, actor_id_of, check_same_origin
from instance.activities import first_type

__all__ = ["OWN_OBJECT_TYPES", "STORED_TYPES", "check_normalized", "owned_ids"]

#: Activities whose object the sender creates or changes: its id must be the sender's.
OWN_OBJECT_TYPES = frozenset({"Create", "Update", "Delete", "Offer"})
#: Embedded objects oce stores under their own id: each must be on its sender's origin.
STORED_TYPES = frozenset(
    {"Proposal", "Intent", "Agreement", "Commitment", "EconomicEvent", "Claim"}
)
_MAX_DEPTH = 32


def owned_ids(owner: str, document: Any, field: str) -> None:
    """Refuse ``document`` unless its id, and the id of every embedded object oce would
    store, is on ``owner``'s origin (an object without an id passes)."""
    stack: list[tuple[Any, str, int]] = [(document, field, 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > _MAX_DEPTH:
            continue  # the JSON reader already bounds nesting
        if isinstance(node, list):
            stack.extend((item, f"{where}/{i}", depth + 1) for i, item in enumerate(node))
            continue
        if not isinstance(node, Mapping):
            continue
        found = node.get("id")
        if (depth == 0 or first_type(node) in STORED_TYPES) and found is not None:
            if not isinstance(found, str):
                raise OriginError(f"{where}: the id is not a string")
            try:
                check_same_origin(found, owner)
            except OriginError as exc:
                raise OriginError(f"{where}: {exc}") from None
        stack.extend(
            (value, f"{where}/{key}", depth + 1)
            for key, value in node.items()
            if isinstance(value, (dict, list))
        )


def check_normalized(activity: Mapping[str, Any], signer: str, received_id: str) -> None:
    """Run the inbox's origin rules on the normalized activity (see the module doc)."""
    if activity.get("id") != received_id:
        raise OriginError(
            f"the activity reads as {activity.get('id')!r} once its JSON-LD is "
            f"interpreted, not as the {received_id} it was received as"
        )
    actor = actor_id_of(activity)
    if actor != signer:
        raise OriginError(f"the activity's actor reads as {actor}, not its signer {signer}")
    if first_type(activity) in OWN_OBJECT_TYPES:
        targets = activity.get("object")
        for target in targets if isinstance(targets, list) else [targets]:
            if isinstance(target, str) and target != actor:
                check_same_origin(target, actor)
            else:
                owned_ids(actor, target, "object")
    if "result" in activity:
        owned_ids(actor, activity["result"], "result")
