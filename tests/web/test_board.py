"""A plan as a board in the Agent app (SQLite and PostgreSQL, in-process): processes as
columns, commitments as cards, work logged on a card through the outbox; the trace page."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import quote

from sqlalchemy import select

from instance.store.models import Commitment, EconomicEvent
from tests.exchange.conftest import BREAD
from tests.harness import Running
from tests.web.signing import add_person, sign_in
from tests.web.test_orgs import HTML, browser, form, post_as, text_of


def hours(value: str) -> dict[str, str]:
    return {"hasUnit": "hour", "hasNumericalValue": value}


async def test_the_board_shows_the_plan_and_logs_work_on_a_card(site: Running) -> None:
    await add_person(site, "carol")
    bob_id = site.services.urls.actor("bob")
    created = await post_as(
        site,
        "alice",
        {
            "type": "Plan",
            "name": "Saturday bread",
            "planIncludes": [
                {
                    "type": "Process",
                    "name": "Bake",
                    "hasInput": [
                        {
                            "type": "Commitment",
                            "action": "work",
                            "provider": bob_id,
                            "effortQuantity": hours("3"),
                            "due": "2020-01-01T10:00:00Z",
                        }
                    ],
                    "hasOutput": [
                        {
                            "type": "Commitment",
                            "action": "produce",
                            "resourceConformsTo": BREAD,
                            "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "3"},
                        }
                    ],
                }
            ],
        },
    )
    plan = created["object"]["id"]
    work = created["object"]["planIncludes"]["hasInput"]["id"]
    await post_as(site, "bob", {"type": "Accept", "object": work})
    board = f"/app/plan?id={quote(plan, safe='')}"

    bob, carol = site.client, browser(site)
    async with carol:
        await sign_in(bob, "bob")
        await sign_in(carol, "carol")
        listed = await bob.get("/app/plans", headers=HTML)
        assert "Saturday bread" in listed.text
        page = await bob.get(board, headers=HTML)
        assert page.status_code == 200
        text = text_of(page.text)
        assert "Bake" in text
        assert "work 3 h (input) Provider bob Receiver alice Fulfilled 0 h" in text
        assert "late" in text  # due in 2020, nothing done
        assert "produce 3 kg (output)" in text
        assert page.text.count('action="/app/plan/work"') == 1  # on bob's card only

        # Someone with no part in the plan reads nothing of it.
        assert (await carol.get(board, headers=HTML)).status_code == 404
        assert "Saturday bread" not in (await carol.get("/app/plans", headers=HTML)).text
        refused = await form(carol, "/app/plans", "/app/plan/work", commitment=work, hours="1")
        assert refused.status_code == 404

        wrong = await form(bob, board, "/app/plan/work", commitment=work, hours="two")
        assert wrong.status_code == 400
        assert re.search(r'<span class="error" id="hours-[^"]+-error">', wrong.text)
        assert "&#39;two&#39; is not a number" in wrong.text
        logged = await form(bob, board, "/app/plan/work", commitment=work, hours="2.5")
        assert logged.status_code == 303
        after = text_of((await bob.get(logged.headers["location"], headers=HTML)).text)
        assert "Recorded." in after
        assert "Fulfilled 2.5 h" in after
        async with site.services.db.read() as session:
            fulfilled = await session.scalar(
                select(Commitment.fulfilled).where(Commitment.uri == work)
            )
            event = await session.scalar(
                select(EconomicEvent.uri).where(EconomicEvent.fulfills == work)
            )
        assert fulfilled == Decimal("2.5")
        assert event is not None

        # The trace page: from the bread plan's work event, what went into it.
        trace = await bob.get(f"/app/trace?id={quote(event, safe='')}", headers=HTML)
        assert trace.status_code == 200
        assert "EconomicEvent work 2.5 h bob → alice" in text_of(trace.text)
        assert (
            await carol.get(f"/app/trace?id={quote(event, safe='')}", headers=HTML)
        ).status_code == 404
        missing = await bob.get("/app/trace?id=https%3A%2F%2Fa.test%2Fevents%2Fnone", headers=HTML)
        assert missing.status_code == 404
        assert 'id="id-error"' in missing.text
