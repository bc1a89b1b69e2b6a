"""The shared resources the app lifespan owns, handed to routes and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request

from instance.db import Database
from instance.settings import Settings
from instance.urls import Urls

__all__ = ["Services", "services", "templates_environment"]


def templates_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
        enable_async=False,
    )


@dataclass
class Services:
    """Everything a request or worker needs; created once per process in the lifespan."""

    settings: Settings
    db: Database
    http: httpx.AsyncClient
    urls: Urls = field(init=False)
    templates: Environment = field(default_factory=templates_environment)

    def __post_init__(self) -> None:
        self.urls = Urls(self.settings.base_url)


def services(request: Request) -> Services:
    """The process's :class:`Services`, from the lifespan state."""
    found: Services = request.state.services
    return found
