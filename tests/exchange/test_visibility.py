"""Who may read what: public proposals for anyone, the rest for the parties' clients."""

from __future__ import annotations

from tests.exchange.conftest import Pair, client
from tests.exchange.steps import agreed


async def test_records_are_read_by_their_parties_only(pair: Pair) -> None:
    proposal, bread, agreement, _currency = await agreed(pair)
    a = pair.a.client
    carol = await client(pair.a, "carol")  # on the same instance, party to nothing

    # A public proposal: anyone, as JSON or as a page.
    anonymous = await a.get(proposal, headers={"Accept": "application/activity+json"})
    assert anonymous.status_code == 200
    assert anonymous.json()["id"] == proposal
    page = await a.get(proposal, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Rye bread" in page.text

    for url in (agreement["id"], bread):
        for headers in ({}, carol.auth):
            hidden = await a.get(url, headers={"Accept": "application/activity+json", **headers})
            assert hidden.status_code == 404, url
            assert hidden.json()["status"] == 404
    assert (await pair.alice.get(agreement["id"]))["id"] == agreement["id"]
    assert (await pair.alice.get(bread))["id"] == bread

    # The actor links its collections; only its own client reads them.
    actor = (await a.get(pair.alice.id, headers={"Accept": "application/activity+json"})).json()
    for name in ("agreements", "commitments", "resources"):
        assert actor[name] == f"{pair.alice.id}/{name}"
        assert (await a.get(actor[name])).status_code == 401
        assert (await a.get(actor[name], headers=carol.auth)).status_code == 403
        assert (await pair.alice.get(actor[name]))["totalItems"] >= 1
    assert (await a.get(f"{pair.alice.id}/nonsense", headers=pair.alice.auth)).status_code == 404
