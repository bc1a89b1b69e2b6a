"""The app speaks the reader's language: English, French or Spanish, from Accept-Language;
numbers and dates the locale's way, quantities with every digit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from instance.web.app.locales import LANGUAGES
from instance.web.app.records import RECORD_TEXTS
from instance.web.routes.account import WRONG
from instance.web.routes.dashboard import NOTICES
from tests.exchange.conftest import Pair
from tests.exchange.steps import raise_stock
from tests.harness import Running
from tests.web.signing import sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "instance" / "web" / "templates"
LOCALE = TEMPLATES.parent / "locale"


#: The Agent app's templates (signed-in pages, sign-in, problems): every text on them is
#: marked for translation. The public pages (profiles, proposals, collections) are not.
APP_TEMPLATES = (
    "base", "login", "dashboard", "record", "publish", "answer", "follow", "tokens",
    "notifications", "profile", "work", "_forms", "_field", "_chart", "problem",
)  # fmt: skip
#: Text that stays as it is in every language (a command to type).
UNTRANSLATED = {"oce agent password NAME ."}


def _msgids() -> set[str]:
    found = {WRONG, "Enter your name and your password.", *NOTICES.values(), *RECORD_TEXTS}
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text("utf-8")
        found |= set(re.findall(r'_\("([^"]+)"', text))
        found |= set(re.findall(r"_\('([^']+)'", text))
    return found


def _bare_text(template: str) -> list[str]:
    """Words written on a template outside any translation: what is left once the
    template's expressions, statements and tags are taken out."""
    text = (TEMPLATES / f"{template}.html").read_text("utf-8")
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", text, flags=re.DOTALL)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.DOTALL)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [
        line
        for line in lines
        if re.search(r"[A-Za-z]{2,}", line) and line not in UNTRANSLATED and "=" not in line
    ]


@pytest.mark.parametrize("template", APP_TEMPLATES)
def test_every_text_of_the_app_is_marked_for_translation(template: str) -> None:
    assert _bare_text(template) == []


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


async def test_the_new_pages_speak_french_and_spanish(site: Running) -> None:
    await sign_in(site.client, "alice")
    for path, language, words in (
        ("/app/profile", "fr", "Votre profil"),
        ("/app/work", "es", "Registrar horas de trabajo"),
        ("/app/notifications", "fr", "Rien pour l'instant."),
        ("/app/publish", "es", "Publicar una oferta o una solicitud"),
        ("/app/tokens", "fr", "Aucun jeton."),
    ):
        page = await site.client.get(
            path, headers={"Accept": "text/html", "Accept-Language": language}
        )
        assert page.status_code == 200
        text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split()).replace("&#39;", "'")
        assert words in text, (path, language)
