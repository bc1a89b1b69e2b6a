"""Words for proposals (pages and Mastodon posts) and the signals that a server speaks
ValueFlows: pure functions, no instance needed."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from federation import NodeInfo
from instance.describe import describe_proposal, location_words
from instance.outbox.fediverse import note_html, proposal_note
from instance.outbox.servers import names_valueflows, speaks_valueflows
from vocab import Proposal, parse_object

P = "https://coop.example/proposals/1"


def proposal(**extra: Any) -> Proposal:
    document = {
        "id": P,
        "type": "Proposal",
        "purpose": "offer",
        "attributedTo": "https://coop.example/agents/alice",
        "name": "Rye <bread>",
        "published": "2024-05-01T10:00:00Z",
        "to": "https://www.w3.org/ns/activitystreams#Public",
        "publishes": {
            "id": f"{P}#primary",
            "type": "Intent",
            "action": "transfer",
            "resourceConformsTo": "https://coop.example/specs/bread",
            "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "2.50"},
            "availableQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "0"},
        },
        **extra,
    }
    found = parse_object(document)
    assert isinstance(found, Proposal)
    return found


def test_intents_read_as_sentences() -> None:
    words = describe_proposal(proposal(), {"https://coop.example/specs/bread": "Rye loaves"})
    (primary,) = words.primary
    assert primary.sentence == "2.5 kilogram of Rye loaves (0 kilogram still available)"
    assert (words.kind, words.title, words.primary_heading) == ("Offer", "Rye <bread>", "Offered")
    unnamed = describe_proposal(proposal(), {})
    assert unnamed.primary[0].phrase == "2.5 kilogram of bread"


def test_actions_counts_and_effort_read_naturally() -> None:
    request = proposal(
        purpose="request",
        publishes={
            "id": f"{P}#primary",
            "type": "Intent",
            "action": "work",
            "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": "3"},
        },
        reciprocal={
            "id": f"{P}#reciprocal",
            "type": "Intent",
            "action": "transfer",
            "resourceConformsTo": "https://coop.example/specs/credit",
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "12"},
        },
    )
    words = describe_proposal(request, {})
    assert words.primary_heading == "Requested"
    assert words.primary[0].phrase == "work: 3 hour"
    assert words.reciprocal[0].phrase == "12 credit"


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ({"type": "Place", "name": "Market square", "latitude": 1}, "Market square"),
        ({"type": "Place", "address": "1 Mill Lane"}, "1 Mill Lane"),
        ({"type": "Place", "latitude": Decimal("25.50"), "longitude": -71}, "25.5, -71"),
        ("https://places.example/mill", "https://places.example/mill"),
        ([{"name": "First"}, {"name": "Second"}], "First"),
        ({"type": "Place", "name": "x" * 500}, "x" * 199 + "…"),
        (None, ""),
        (7, ""),
    ],
)
def test_places_read_as_people_read_them(location: Any, words: str) -> None:
    assert location_words(location) == words


def test_the_note_is_escaped_cleaned_and_links_the_proposal() -> None:
    offer = proposal(content="<p>Warm <script>x()</script><b>today</b></p>")
    html = note_html(offer, describe_proposal(offer, {}))
    assert set(re.findall(r"</?([a-z]+)", html)) <= {"p", "br", "a", "span"}
    assert "Rye &lt;bread&gt;" in html
    assert "x()" not in html
    assert "Nothing is asked in return." in html
    assert f'<a href="{P}" rel="nofollow noopener">' in html
    note = proposal_note(offer, describe_proposal(offer, {}), updated="2024-05-02T00:00:00Z")
    assert note["id"] == f"{P}/note"
    assert (note["published"], note["updated"]) == ("2024-05-01T10:00:00Z", "2024-05-02T00:00:00Z")
    assert note["to"] == ["https://www.w3.org/ns/activitystreams#Public"]


def test_a_long_description_is_cut_in_the_note() -> None:
    offer = proposal(content="<p>" + "word " * 2000 + "</p>")
    html = note_html(offer, describe_proposal(offer, {}))
    assert len(html) < 1500
    assert "…" in html


@pytest.mark.parametrize(
    ("context", "valueflows"),
    [
        (["https://www.w3.org/ns/activitystreams", "https://peer.example/ns/oce-v1.jsonld"], True),
        ([{"vf": "https://w3id.org/valueflows/ont/vf#"}], True),
        ([{"Proposal": {"@id": "https://w3id.org/valueflows#Proposal"}}], True),
        ("https://www.w3.org/ns/activitystreams", False),
        (["https://www.w3.org/ns/activitystreams", {"toot": "http://joinmastodon.org/ns#"}], False),
        (["https://gotosocial.org/ns"], False),
        (None, False),
    ],
)
def test_actor_contexts_that_name_valueflows(context: Any, valueflows: bool) -> None:
    assert names_valueflows(context) is valueflows


def test_nodeinfo_that_speaks_valueflows() -> None:
    assert speaks_valueflows(NodeInfo("oce", "", {"valueflows": {"version": "1.0.0"}}))
    assert not speaks_valueflows(NodeInfo("mastodon", "", {"nodeName": "x"}))
    assert not speaks_valueflows(NodeInfo("x", "", {"valueflows": "maybe"}))
