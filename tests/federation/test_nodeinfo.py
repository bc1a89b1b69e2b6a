"""NodeInfo: picking the document from the well-known links, reading software and metadata."""

from __future__ import annotations

from typing import Any

import pytest

from federation import FetchRefused, NodeInfo, nodeinfo_href, nodeinfo_well_known, parse_nodeinfo

URL = "https://peer.example/.well-known/nodeinfo"
SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/"


def test_the_well_known_address() -> None:
    assert nodeinfo_well_known("https://peer.example") == URL
    assert nodeinfo_well_known("http://127.0.0.1:8001/") == (
        "http://127.0.0.1:8001/.well-known/nodeinfo"
    )


def test_the_newest_known_schema_is_chosen() -> None:
    links = {
        "links": [
            {"rel": SCHEMA + "1.0", "href": "https://peer.example/1.0"},
            {"rel": SCHEMA + "2.0", "href": "https://peer.example/2.0"},
            {"rel": SCHEMA + "2.1#", "href": "https://peer.example/2.1"},
        ]
    }
    assert nodeinfo_href(links, URL) == "https://peer.example/2.1"


@pytest.mark.parametrize(
    ("links", "why"),
    [
        ({}, "no links"),
        ({"links": "x"}, "no links"),
        ({"links": [{"rel": SCHEMA + "1.0", "href": "https://p/1"}]}, "no 2.x"),
        ({"links": [{"rel": SCHEMA + "2.0", "href": "ftp://p/2"}]}, "no 2.x"),
        ({"links": [{"rel": SCHEMA + "2.0"}]}, "no 2.x"),
    ],
)
def test_answers_without_a_usable_link_are_refused(links: dict[str, Any], why: str) -> None:
    with pytest.raises(FetchRefused, match=why):
        nodeinfo_href(links, URL)


def test_software_and_metadata_are_read_and_bounded() -> None:
    info = parse_nodeinfo(
        {
            "software": {"name": "oce" + "x" * 100, "version": "0.1.0"},
            "metadata": {"valueflows": {"version": "1.0.0"}},
        },
        URL,
    )
    assert info == NodeInfo("oce" + "x" * 61, "0.1.0", {"valueflows": {"version": "1.0.0"}})
    bare = parse_nodeinfo({"software": {"name": "mastodon"}, "metadata": []}, URL)
    assert bare == NodeInfo("mastodon")


@pytest.mark.parametrize("document", [{}, {"software": "mastodon"}, {"software": {"name": 3}}])
def test_a_document_naming_no_software_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(FetchRefused, match="software"):
        parse_nodeinfo(document, URL)
