"""The shared resources the app lifespan owns, handed to routes and workers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request

from instance.notices.signal import Notifier as NoticeSignal
from instance.settings import Settings
from instance.store.db import Database
from instance.store.notify import POLL_WITH_NOTIFY, Notifier
from instance.urls import Urls

if TYPE_CHECKING:
    from instance.inbox.ratelimit import InboxLimits
    from instance.inbox.store import InboxStore
    from instance.moderation import Blocklist
    from instance.peers import Peers

__all__ = ["Services", "services", "templates_environment"]


def templates_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "web" / "templates"),
        autoescape=select_autoescape(default=True),
        enable_async=False,
        extensions=["jinja2.ext.i18n"],
    )
    # English (the templates' own text) unless a page installs a catalogue for its render.
    environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return environment


@dataclass
class Services:
    """Everything a request or worker needs; created once per process in the lifespan."""

    settings: Settings
    db: Database
    http: httpx.AsyncClient
    peers: Peers
    blocklist: Blocklist
    inbox_store: InboxStore
    inbox_limits: InboxLimits
    urls: Urls = field(init=False)
    templates: Environment = field(default_factory=templates_environment)
    #: Set when deliveries or inbox items were queued, to wake this process's workers.
    deliveries_due: asyncio.Event = field(default_factory=asyncio.Event)
    #: Wakes this process's live notification streams.
    notices: NoticeSignal = field(default_factory=NoticeSignal)
    #: On PostgreSQL: wakes the workers of other processes too (instance.store.notify).
    notifier: Notifier | None = None

    def __post_init__(self) -> None:
        self.urls = Urls(self.settings.base_url)

    @property
    def inbox_due(self) -> asyncio.Event:
        return self.inbox_store.stored

    def wake(self) -> None:
        """Tell this process's workers, and on PostgreSQL every other process's, that
        new work was committed."""
        self.wake_here()
        if self.notifier is not None:
            self.notifier.notify()

    def wake_here(self) -> None:
        """Tell this process's workers that work may be due."""
        self.deliveries_due.set()
        self.inbox_store.stored.set()

    @property
    def poll_seconds(self) -> float:
        """How long an idle worker waits before looking for due work on its own."""
        seconds = self.settings.worker_poll_ms / 1000
        if self.notifier is not None and self.notifier.listening:
            return max(seconds, POLL_WITH_NOTIFY)
        return seconds


def services(request: Request) -> Services:
    """The process's :class:`Services`, from the lifespan state."""
    found: Services = request.state.services
    return found
