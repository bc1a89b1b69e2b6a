"""How the app's pages write people, amounts and moments.

One :class:`Format` per request (it will carry the reader's locale): templates call
``fmt.who(uri)``, ``fmt.qty(value, unit)`` and ``fmt.when(moment)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote, urlsplit

from instance.urls import Urls
from instance.web.app.overview import quantity

__all__ = ["Format"]


@dataclass(frozen=True, slots=True)
class Format:
    urls: Urls

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
        return found.text if found else ""

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
        return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""

    def date(self, moment: datetime | None) -> str:
        return f"{moment:%Y-%m-%d}" if moment else ""
