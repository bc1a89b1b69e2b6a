"""Without the development switch, the inbox never fetches a key from a private address."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from federation import generate_rsa_keypair, load_private_key, sign_request
from instance.store.models import InboxItem
from tests.harness import make_settings, running


async def test_a_key_on_loopback_is_never_fetched(database_url: str) -> None:
    settings = make_settings(database_url, allow_private_network=False)
    # No test network: the real guarded transport, as in production.
    async with running(settings) as a:
        key = load_private_key(generate_rsa_keypair().private_pem)
        for key_id in (
            "http://127.0.0.1:9/users/x#main-key",
            "https://127.0.0.1:9/users/x#main-key",
            "https://10.0.0.7/users/x#main-key",
            "https://169.254.169.254/users/x#main-key",
            "https://[::1]/users/x#main-key",
        ):
            actor = key_id.split("#")[0]
            body = json.dumps(
                {"id": f"{actor}/follow", "type": "Follow", "actor": actor, "object": "x"}
            ).encode()
            headers = {"Content-Type": "application/activity+json"}
            headers |= sign_request(
                "POST", "https://a.test/inbox", headers, body, key_id, key, datetime.now(UTC)
            )
            response = await a.client.post("/inbox", content=body, headers=headers)
            assert response.status_code == 401, key_id
            detail = response.json()["detail"]
            assert "cannot get the signing key" in detail
            assert "refused" in detail or "not allowed" in detail, detail
        async with a.services.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(InboxItem)) == 0
