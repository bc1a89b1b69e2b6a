"""Logging: one readable line per event on standard error."""

from __future__ import annotations

import logging
import sys

__all__ = ["configure_logging"]


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("oce")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
