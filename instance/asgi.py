"""The ASGI entry point uvicorn imports in each web process (``oce serve``)."""

from __future__ import annotations

from starlette.applications import Starlette

from instance.app import create_app
from instance.logs import configure_logging
from instance.settings import load_settings

__all__ = ["app"]


def app() -> Starlette:
    """Build the app from the environment (uvicorn calls this with ``factory=True``)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
