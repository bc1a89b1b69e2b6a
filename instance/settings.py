"""Instance settings: environment variables, optionally a TOML file, validated once at start.

Every setting has an environment variable ``OCE_<NAME>``; a TOML file named by
``OCE_CONFIG`` may give the same names in lower case (``base_url = "https://…"``).
The environment wins over the file. A bad value raises :class:`SettingsError` whose
message is one line naming the setting, the value and what is expected.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Settings", "SettingsError", "load_settings"]


class SettingsError(Exception):
    """A setting is missing or malformed. ``str()`` is one line naming the setting."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        self.expected = expected
        super().__init__(f"{name}={value!r}: {expected}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the instance reads from its environment, validated."""

    base_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("data")
    database_url: str = ""
    allow_private_network: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    #: Run delivery and inbox workers inside ``oce serve`` (off when separate
    #: ``oce worker`` processes do that work).
    run_workers: bool = True
    #: Largest request body accepted on inboxes and outboxes, in bytes.
    max_body_bytes: int = 1_048_576
    instance_name: str = "oce"
    log_level: str = "info"
    #: Connections in each process's database pool (twice that on PostgreSQL, with
    #: its overflow).
    database_pool_size: int = 10
    #: Refuse a database session to a task that already holds one (instance.store.db).
    #: About a microsecond a session (a session itself costs over 100), so it stays on
    #: in production too.
    strict_sessions: bool = True
    #: Seconds a client has to send a request's line and headers (instance.web.connections).
    header_timeout: int = 10
    #: Seconds a client has to send a request's body, once its headers are in.
    body_timeout: int = 30
    #: Largest request line and headers together, in bytes (431 beyond).
    max_header_bytes: int = 32_768
    #: Requests one client (a bearer token, or a signature's key) may have in progress at
    #: once; more wait their turn (instance.web.fairness).
    max_requests_per_client: int = 8
    #: One log line per HTTP request (``oce.access``: method, path, status, time).
    access_log: bool = True
    #: Inbox rate limits: activities a minute, and the burst allowed at once, per
    #: sending actor and per sending host (0 a minute: no limit). Over them: 429.
    inbox_actor_per_minute: int = 600
    inbox_actor_burst: int = 120
    inbox_host_per_minute: int = 3000
    inbox_host_burst: int = 600
    #: Senders whose rate each process remembers at most (least recently seen go).
    rate_limit_senders: int = 10_000
    #: Days a processed inbox body is kept when it backs no ledger record.
    inbox_retention_days: int = 30
    #: Days a finished delivery (sent or given up) is kept.
    delivery_retention_days: int = 7
    #: Milliseconds between an idle worker's looks for due work queued elsewhere (on
    #: PostgreSQL with ``worker_notify``, at least 5 s: queued work wakes it at once).
    worker_poll_ms: int = 500
    #: On PostgreSQL, wake the workers of every process with ``LISTEN/NOTIFY`` when work
    #: is queued (instance.store.notify); off, they only poll.
    worker_notify: bool = True

    @property
    def host_name(self) -> str:
        """The authority part of the base URL (``coop.example`` or ``127.0.0.1:8000``)."""
        return urlsplit(self.base_url).netloc

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def url(self, path: str) -> str:
        """Absolute URL on this instance for ``path`` (which starts with ``/``)."""
        return self.base_url + path


def _parse_base_url(name: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(name, value, "expected an http(s) origin such as https://coop.example")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise SettingsError(name, value, "expected an origin only: no path, query or user")
    try:
        _ = parts.port
    except ValueError:
        raise SettingsError(name, value, "the port is not a number between 0 and 65535") from None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(name, value, "expected 1/0, true/false, yes/no or on/off")


def _parse_port(name: str, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise SettingsError(name, value, "expected a port number") from None
    if not 0 <= port <= 65535:
        raise SettingsError(name, value, "expected a port number between 0 and 65535")
    return port


def _parse_positive(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(name, value, "expected a whole number") from None
    if number <= 0:
        raise SettingsError(name, value, "expected a number greater than zero")
    return number


def _parse_count(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(name, value, "expected a whole number") from None
    if number < 0:
        raise SettingsError(name, value, "expected zero or more")
    return number


def _parse_database_url(name: str, value: str) -> str:
    if value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return value
    if value.startswith("postgresql://"):
        return "postgresql+asyncpg://" + value.removeprefix("postgresql://")
    if value.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + value.removeprefix("sqlite://")
    raise SettingsError(
        name, value, "expected sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
    )


def _parse_log_level(name: str, value: str) -> str:
    level = value.strip().lower()
    if level not in ("debug", "info", "warning", "error"):
        raise SettingsError(name, value, "expected debug, info, warning or error")
    return level


def _parse_name(name: str, value: str) -> str:
    if not value.strip() or len(value) > 100:
        raise SettingsError(name, value, "expected a non-empty name of at most 100 characters")
    return value.strip()


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Settings)}

_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "base_url": _parse_base_url,
    "data_dir": lambda _name, value: Path(value),
    "database_url": _parse_database_url,
    "allow_private_network": _parse_bool,
    "host": lambda _name, value: value,
    "port": _parse_port,
    "run_workers": _parse_bool,
    "max_body_bytes": _parse_positive,
    "instance_name": _parse_name,
    "log_level": _parse_log_level,
    "database_pool_size": _parse_positive,
    "strict_sessions": _parse_bool,
    "header_timeout": _parse_positive,
    "body_timeout": _parse_positive,
    "max_header_bytes": _parse_positive,
    "max_requests_per_client": _parse_positive,
    "access_log": _parse_bool,
    "inbox_actor_per_minute": _parse_count,
    "inbox_actor_burst": _parse_positive,
    "inbox_host_per_minute": _parse_count,
    "inbox_host_burst": _parse_positive,
    "rate_limit_senders": _parse_positive,
    "inbox_retention_days": _parse_positive,
    "delivery_retention_days": _parse_positive,
    "worker_poll_ms": _parse_positive,
    "worker_notify": _parse_bool,
}


def _from_file(path_text: str) -> dict[str, str]:
    path = Path(path_text)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError("OCE_CONFIG", path_text, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("OCE_CONFIG", path_text, f"cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("OCE_CONFIG", path_text, f"not valid TOML: {exc}") from None
    values: dict[str, str] = {}
    for key, value in raw.items():
        if key not in _PARSERS:
            known = ", ".join(sorted(_PARSERS))
            raise SettingsError(f"{path_text}: {key}", value, f"unknown setting; known: {known}")
        values[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return values


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from ``environ`` (default: the process environment).

    ``overrides`` (already typed, e.g. ``port=9000`` from the command line) win over
    both the environment and the file.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, tuple[str, str]] = {}
    if config := env.get("OCE_CONFIG"):
        for key, value in _from_file(config).items():
            raw[key] = (f"{config}: {key}", value)
    for key in _PARSERS:
        variable = f"OCE_{key.upper()}"
        if variable in env:
            raw[key] = (variable, env[variable])
    values: dict[str, Any] = {key: _PARSERS[key](name, text) for key, (name, text) in raw.items()}
    values.update({key: value for key, value in overrides.items() if value is not None})
    if "base_url" not in values:
        # Local use: the public origin follows wherever `oce serve` listens.
        host = values.get("host", _DEFAULTS["host"])
        port = values.get("port", _DEFAULTS["port"])
        values["base_url"] = _parse_base_url("OCE_BASE_URL", f"http://{host}:{port}")
    if not values.get("database_url"):
        data_dir = Path(values.get("data_dir", _DEFAULTS["data_dir"]))
        values["database_url"] = f"sqlite+aiosqlite:///{data_dir.resolve() / 'oce.sqlite3'}"
    return Settings(**values)
