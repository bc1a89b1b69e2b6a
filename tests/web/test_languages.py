"""The app speaks the reader's language: English, French or Spanish, from Accept-Language;
numbers and dates the locale's way, quantities with every digit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from instance.web.app.locales import LANGUAGES
from instance.web.routes.account import WRONG
from instance.web.routes.dashboard import NOTICES
from tests.exchange.conftest import Pair
from tests.exchange.steps import raise_stock
from tests.harness import Running
from tests.web.signing import sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "instance" / "web" / "templates"
LOCALE = TEMPLATES.parent / "locale"


def _msgids() -> set[str]:
    found = {WRONG, "Enter your name and your password.", *NOTICES.values()}
    for template in TEMPLATES.glob("*.html"):
        found |= set(re.findall(r'_\("([^"]+)"', template.read_text("utf-8")))
    return found


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_interface_text_has_a_translation(language: str) -> None:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    translated = {message.id for message in catalog if message.id and message.string}
    assert _msgids() - translated == set()


@pytest.mark.parametrize(
    ("header", "lang", "words"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.5", "fr", "Se connecter"),
        ("es-ES,es;q=0.9", "es", "Iniciar sesión"),
        ("de, en;q=0.8", "en", "Sign in"),
        ("", "en", "Sign in"),
        ("en;q=0.1, es;q=0.7", "es", "Iniciar sesión"),
    ],
)
async def test_the_sign_in_page_follows_accept_language(
    site: Running, header: str, lang: str, words: str
) -> None:
    page = await site.client.get(
        "/login", headers={"Accept": "text/html", "Accept-Language": header}
    )
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    assert f"<h1>{words}</h1>" in page.text


async def test_the_dashboard_writes_numbers_the_french_way_and_exactly(pair: Pair) -> None:
    await raise_stock(pair.alice, "1234.5678")
    await sign_in(pair.a.client, "alice")
    french = await pair.a.client.get(
        "/dashboard", headers={"Accept": "text/html", "Accept-Language": "fr"}
    )
    text = " ".join(re.sub(r"<[^>]+>", " ", french.text).split())
    assert "Comptable 1 234,5678 kg" in text
    assert "1\u202f234,5678" in french.text  # grouped with a narrow no-break space
    assert "Soldes" in text
    english = await pair.a.client.get("/dashboard", headers={"Accept": "text/html"})
    assert "Accounting 1,234.5678 kg" in " ".join(re.sub(r"<[^>]+>", " ", english.text).split())
