"""How the app's pages write people, amounts and moments.

One :class:`Format` per request (it will carry the reader's locale): templates call
``fmt.who(uri)``, ``fmt.qty(value, unit)`` and ``fmt.when(moment)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote, urlsplit

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from instance.urls import Urls
from instance.web.app.overview import quantity

__all__ = ["Format"]


@dataclass(frozen=True, slots=True)
class Format:
    urls: Urls
    #: One of :data:`instance.web.app.locales.LANGUAGES`.
    language: str = "en"

    def number(self, value: Decimal) -> str:
        """Every digit of ``value``, with the locale's separators (``1 234,5`` in French)."""
        return format_decimal(value, locale=self.language, decimal_quantization=False)

    def who(self, uri: str | None) -> str:
        """``alice`` for one of ours, ``bob@b.example`` for anyone else."""
        if not uri:
            return ""
        parts = urlsplit(uri)
        name = parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc
        return name if self.urls.is_local(uri) else f"{name}@{parts.netloc}"

    def page(self, uri: str | None) -> str:
        """Where a browser reads a record: at its id when it is ours, else our copy."""
        if not uri:
            return ""
        if self.urls.is_local(uri):
            return uri
        return "/app/record?id=" + quote(uri, safe="")

    def qty(self, value: Decimal | None, unit: str | None) -> str:
        found = quantity(value, unit)
        if found is None:
            return ""
        number = self.number(found.value)
        return number if found.unit == "one" else f"{number} {found.symbol or found.label}"

    def measure(self, value: object) -> str:
        """A Measure as JSON (``hasNumericalValue``, ``hasUnit``), written exactly."""
        if not isinstance(value, dict):
            return ""
        try:
            number = Decimal(str(value.get("hasNumericalValue")))
        except ArithmeticError:
            return ""
        unit = value.get("hasUnit")
        return self.qty(number, unit if isinstance(unit, str) else "one")

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        written = format_datetime(moment, "medium", tzinfo=UTC, locale=self.language)
        return f"{written} UTC"

    def date(self, moment: datetime | None) -> str:
        return format_date(moment, "medium", locale=self.language) if moment else ""
