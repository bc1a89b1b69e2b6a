"""ValueFlows 1.0 and ActivityStreams vocabulary: pure, no I/O, no database.

The public surface is this module's ``__all__``; the submodules are named after the
concept they hold (``jsontext``, ``contexts``, ``units``, ``quantity``, ``actions``,
``objects``, ``reader``, ``writer``). Importing is cheap: data files are read and pyld
is imported on first use. See ``docs/vocabulary.md``.
"""

from vocab.actions import ACTIONS, Action, get_action
from vocab.contexts import (
    AS_CONTEXT,
    DATA_INTEGRITY_V1,
    MULTIKEY_V1,
    OCE_CONTEXT_PATH,
    SECURITY_V1,
    document_loader,
    oce_context_document,
    oce_context_url,
    outgoing_context,
)
from vocab.errors import (
    ActionError,
    AliasError,
    ContextError,
    InvalidObject,
    JsonError,
    LimitError,
    QuantityError,
    UnitError,
    UnitMismatch,
    VocabError,
)
from vocab.jsontext import DEFAULT_LIMITS, JsonLimits, dumps, loads
from vocab.ldwork import LdLimits, check_ld_work
from vocab.namespaces import OCE, PUBLIC, VF
from vocab.objects import (
    Agent,
    Agreement,
    ASObject,
    Claim,
    Commitment,
    EconomicEvent,
    EconomicResource,
    Intent,
    Organization,
    Person,
    Plan,
    Process,
    Proposal,
    ResourceSpecification,
    VFObject,
)
from vocab.quantity import EXACT, Measure, canonical_decimal, parse_decimal
from vocab.reader import normalize, parse_object, read, screen
from vocab.units import is_unit, normalize_unit, unit_label
from vocab.writer import to_json, write

__all__ = [
    "ACTIONS",
    "AS_CONTEXT",
    "DATA_INTEGRITY_V1",
    "DEFAULT_LIMITS",
    "EXACT",
    "MULTIKEY_V1",
    "OCE",
    "OCE_CONTEXT_PATH",
    "PUBLIC",
    "SECURITY_V1",
    "VF",
    "ASObject",
    "Action",
    "ActionError",
    "Agent",
    "Agreement",
    "AliasError",
    "Claim",
    "Commitment",
    "ContextError",
    "EconomicEvent",
    "EconomicResource",
    "Intent",
    "InvalidObject",
    "JsonError",
    "JsonLimits",
    "LdLimits",
    "LimitError",
    "Measure",
    "Organization",
    "Person",
    "Plan",
    "Process",
    "Proposal",
    "QuantityError",
    "ResourceSpecification",
    "UnitError",
    "UnitMismatch",
    "VFObject",
    "VocabError",
    "canonical_decimal",
    "check_ld_work",
    "document_loader",
    "dumps",
    "get_action",
    "is_unit",
    "loads",
    "normalize",
    "normalize_unit",
    "oce_context_document",
    "oce_context_url",
    "outgoing_context",
    "parse_decimal",
    "parse_object",
    "read",
    "screen",
    "to_json",
    "unit_label",
    "write",
]
