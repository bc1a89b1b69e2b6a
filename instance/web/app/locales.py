"""Which language a page is written in, and its translations.

The reader's ``Accept-Language`` chooses among the catalogues that ship (English, the
language the templates are written in, French and Spanish); anything else reads
English. Catalogues are the ``.po`` files under ``instance/web/locale``, compiled in
memory once per process (no build step, no binary file in the repository). Numbers and
dates are written by Babel with the locale's conventions; quantities keep every digit.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

__all__ = ["LANGUAGES", "pick_language", "translations"]

LANGUAGES = ("en", "fr", "es")
_LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
#: Most entries of an Accept-Language header read.
_MAX_ENTRIES = 16


def _preferred(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:_MAX_ENTRIES]):
        tag, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0 and len(tag) <= 35:
            ranked.append((-quality, position, tag.replace("-", "_")))
    return [tag for _q, _p, tag in sorted(ranked)]


def pick_language(request: Request) -> str:
    """The best of :data:`LANGUAGES` for the request's ``Accept-Language`` (else ``en``)."""
    try:
        found = Locale.negotiate(
            _preferred(request.headers.get("accept-language", "")), list(LANGUAGES), sep="_"
        )
    except (ValueError, UnknownLocaleError):
        found = None
    return str(found.language) if found is not None else "en"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (English: none, the templates' own text)."""
    po = _LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po.is_file():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)
