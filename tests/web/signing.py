"""Signing in over HTTP the way a browser does: fetch the form, repeat its token."""

from __future__ import annotations

import re

import httpx

from instance.agents import create_agent
from instance.web.app.passwords import hash_password, set_password
from tests.harness import Running

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def form_token(page: str) -> str:
    found = _TOKEN.search(page)
    assert found, "the page has no form token"
    return found[1]


async def add_person(instance: Running, username: str, password: str = PASSWORD) -> None:
    hashed = await hash_password(password)
    async with instance.services.db.write() as session:
        agent = await create_agent(session, username, name=username.title())
        await set_password(session, agent, hashed)


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """Post the sign-in form; the client keeps the session cookie."""
    page = await client.get("/login", headers={"Accept": "text/html"})
    return await client.post(
        "/login",
        data={"csrf": form_token(page.text), "username": username, "password": password},
    )


async def page_token(client: httpx.AsyncClient, path: str = "/dashboard") -> str:
    """The form token of the signed-in session, from one of its pages."""
    page = await client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    return form_token(page.text)
