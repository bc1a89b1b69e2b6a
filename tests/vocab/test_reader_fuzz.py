"""Any input to the strict JSON reader and the vocabulary reader ends in a refusal of
their own (JsonError, VocabError), never another exception.

Inputs are shaped like what they read (JSON punctuation, escapes, exponents; keys
from the ActivityStreams and ValueFlows vocabularies, keywords, inline contexts that
alias, scope and nest) so the examples reach past the first check. Bounded in time:
a few hundred examples each, each under a second.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocab import jsontext, normalize, parse_object, read, screen
from vocab.errors import JsonError, VocabError

BOUNDED = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])

JSON_PIECES = st.lists(
    st.sampled_from(
        [
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            '"',
            '"a"',
            '"@context"',
            "1",
            "-0",
            "1.5",
            "1e99999999999",
            "1E-400",
            "9" * 45,
            "true",
            "null",
            "NaN",
            "Infinity",
            "\\u0000",
            "\\ud800",
            "\\udc00",
            "\\ud83d\\ude00",
            "\\",
            "\\n",
            "\ufeff",
            "\x00",
            "é",
            " ",
            "\t",
        ]
    ),
    max_size=40,
).map("".join)


@BOUNDED
@given(st.binary(max_size=300) | JSON_PIECES.map(str.encode) | JSON_PIECES)
def test_the_json_reader_refuses_with_json_errors_only(data: bytes | str) -> None:
    with contextlib.suppress(JsonError):
        jsontext.loads(data)


@BOUNDED
@given(st.binary(max_size=40))
def test_bytes_before_valid_json_are_refused_or_read(prefix: bytes) -> None:
    with contextlib.suppress(JsonError):
        value = jsontext.loads(prefix + b'{"a": "b"}')
        assert jsontext.loads(jsontext.dumps(value)) == value


KEYS = st.sampled_from(
    [
        "@context", "@id", "@type", "@value", "@list", "@graph", "@reverse", "@language",
        "id", "type", "actor", "object", "attributedTo", "to", "content", "name",
        "provider", "receiver", "action", "resourceQuantity", "hasUnit",
        "hasNumericalValue", "publishes", "reciprocal", "as:object", "vf:provider",
        "https://www.w3.org/ns/activitystreams#object", "pid", "T", "x",
    ]
)  # fmt: skip
TYPES = st.sampled_from(
    ["Create", "Proposal", "Intent", "EconomicEvent", "Note", "Measure", "T", "as:Note", "@id"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.sampled_from(
        [
            "https://peer.test/a", "transfer", "kilogram", "one", "1.5", "1e999999", "-2",
            "https://www.w3.org/ns/activitystreams", "https://w3id.org/valueflows/ont/vf#",
            "@id", "@type", "@vocab", "as:object", "", "_:b0",
        ]
    )
)  # fmt: skip
CONTEXT_ENTRY = st.sampled_from(
    [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        "https://peer.test/unknown.jsonld",
        None,
    ]
) | st.dictionaries(
    KEYS | st.sampled_from(["@vocab", "@base", "@protected", "vf", "om2"]),
    SCALARS
    | st.fixed_dictionaries(
        {"@id": SCALARS},
        optional={"@type": SCALARS, "@container": SCALARS, "@context": st.just({"a": "@id"})},
    ),
    max_size=4,
)
CONTEXTS = CONTEXT_ENTRY | st.lists(CONTEXT_ENTRY, max_size=3)


def documents() -> st.SearchStrategy[dict[str, Any]]:
    values = st.recursive(
        SCALARS | TYPES,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(KEYS, children, max_size=5)
            | st.builds(lambda t, d: {"type": t, **d}, TYPES, st.dictionaries(KEYS, children))
        ),
        max_leaves=25,
    )
    return st.builds(
        lambda context, kind, body: {"@context": context, "type": kind, **body},
        CONTEXTS,
        TYPES,
        st.dictionaries(KEYS, values, max_size=6),
    )


@BOUNDED
@given(documents())
def test_the_vocabulary_reader_refuses_with_vocab_errors_only(document: dict[str, Any]) -> None:
    with contextlib.suppress(VocabError):
        screen(document)
    with contextlib.suppress(VocabError):
        normalize(document)
    with contextlib.suppress(VocabError):
        read(document)


CANONICAL_TYPES = st.sampled_from(
    [
        "Proposal", "Intent", "Agreement", "Commitment", "EconomicEvent", "EconomicResource",
        "Claim", "Plan", "Process", "ResourceSpecification", "Person", "Organization",
        "Note", "Measure",
    ]
)  # fmt: skip
CANONICAL_KEYS = st.sampled_from(
    [
        "id", "type", "name", "action", "provider", "receiver", "resourceQuantity",
        "effortQuantity", "availableQuantity", "hasUnit", "hasNumericalValue", "publishes",
        "reciprocal", "stipulates", "stipulatesReciprocal", "satisfies", "fulfills",
        "resourceInventoriedAs", "toResourceInventoriedAs", "resourceConformsTo",
        "hasPointInTime", "hasBeginning", "due", "purpose", "unitBased", "attributedTo",
        "to", "cc", "published", "inputOf", "outputOf", "clauseOf", "triggeredBy",
    ]
)  # fmt: skip


@BOUNDED
@given(
    CANONICAL_TYPES,
    st.dictionaries(
        CANONICAL_KEYS,
        st.recursive(
            SCALARS | CANONICAL_TYPES,
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(CANONICAL_KEYS, children, max_size=4)
                | st.builds(
                    lambda t, d: {"type": t, **d},
                    CANONICAL_TYPES,
                    st.dictionaries(CANONICAL_KEYS, children, max_size=3),
                )
            ),
            max_leaves=15,
        ),
        max_size=8,
    ),
)
def test_typed_objects_refuse_with_vocab_errors_only(kind: str, body: dict[str, Any]) -> None:
    """What the handlers call on a normalized document: only VocabError, whatever it holds."""
    with contextlib.suppress(VocabError):
        parse_object({**body, "type": kind})
