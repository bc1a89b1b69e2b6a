"""HTTP dates and the window of time in which we believe a signature.

A signature is accepted when its time (the signed Date header, or the `created`
parameter) is at most `MAX_FUTURE` ahead of our clock and at most `MAX_AGE` behind it,
and its `expires` parameter, if any, has not passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from federation.errors import SignatureMalformed, SignatureTimeError

__all__ = [
    "MAX_AGE",
    "MAX_FUTURE",
    "check_expires",
    "check_signed_at",
    "format_http_date",
    "from_timestamp",
    "http_date_or_none",
    "parse_http_date",
    "utc_now",
]

MAX_FUTURE = timedelta(hours=1)
MAX_AGE = timedelta(hours=12)


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def format_http_date(moment: datetime) -> str:
    """`moment` as an IMF-fixdate, e.g. "Tue, 20 Apr 2021 02:07:55 GMT"."""
    return format_datetime(_aware(moment).astimezone(UTC), usegmt=True)


def http_date_or_none(value: str) -> datetime | None:
    """Parse an HTTP-date (RFC 9110 §5.6.7), timezone-aware; None when it is not one."""
    try:
        return _aware(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_http_date(value: str, *, field: str = "Date") -> datetime:
    """Parse a signed HTTP-date header; raise SignatureMalformed naming `field`."""
    parsed = http_date_or_none(value)
    if parsed is None:
        raise SignatureMalformed(f"{field} header {value!r} is not an HTTP-date")
    return parsed


def check_signed_at(signed_at: datetime, now: datetime, *, what: str) -> None:
    """Refuse a signature time too far in the future or too old; `what` names its source."""
    signed_at, now = _aware(signed_at), _aware(now)
    if signed_at - now > MAX_FUTURE:
        raise SignatureTimeError(
            f"{what} {signed_at.isoformat()} is more than {_hours(MAX_FUTURE)} in the future"
        )
    if now - signed_at > MAX_AGE:
        raise SignatureTimeError(
            f"{what} {signed_at.isoformat()} is more than {_hours(MAX_AGE)} old"
        )


def check_expires(expires: datetime, now: datetime) -> None:
    """Refuse a signature whose `expires` parameter has passed."""
    if _aware(now) > _aware(expires):
        raise SignatureTimeError(f"signature expired at {_aware(expires).isoformat()}")


def from_timestamp(value: int, *, what: str) -> datetime:
    """A UNIX timestamp parameter (created, expires) as a datetime."""
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureMalformed(f"{what} {value} is not a usable timestamp") from exc


def _aware(moment: datetime) -> datetime:
    # A naive datetime here can only come from "-0000" dates or a careless caller: UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} hour" + ("" if hours == 1 else "s")
