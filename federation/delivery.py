"""Delivery policy: what an inbox's answer means, when to try again, and sending a POST.

The policy is pure data and functions, for the instance's stored queue to apply:

* 2xx: done.
* 429 and 503: retry, at the time Retry-After gives (delay-seconds or HTTP-date, capped
  at `MAX_RETRY_AFTER`), or on the backoff schedule without one.
* 401, 408 and other 5xx, timeouts and connection errors: retry on the backoff schedule.
* Other 4xx, 3xx (we never follow a redirect with a POST), and our own refusals (scheme,
  address): permanent, never retried.

The backoff schedule: after failed attempt n the wait is min(1 min x 2^(n-1), 12 h),
times a random jitter factor in [0.75, 1.25). With `MAX_ATTEMPTS` = 15 tries the 14 waits
add up to 65 hours nominally and never less than 48.8 hours: see docs/federation.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import httpx

from federation.clock import http_date_or_none, utc_now
from federation.errors import FetchError, FetchRefused
from federation.headers import HeaderInput, Headers

__all__ = [
    "ACTIVITY_CONTENT_TYPE",
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "Outcome",
    "backoff_delay",
    "classify_exception",
    "classify_response",
    "next_attempt_at",
    "parse_retry_after",
    "post_activity",
]

ACTIVITY_CONTENT_TYPE = "application/activity+json"
#: The most of an inbox's answer read to keep its connection (inboxes answer 202 with
#: nothing, or a short problem document).
ANSWER_BYTES = 64 * 1024
ANSWER_SECONDS = 5.0
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=12)
JITTER = (0.75, 1.25)
MAX_ATTEMPTS = 15
MAX_RETRY_AFTER = timedelta(days=7)
_RETRYABLE_4XX = frozenset({401, 408, 429})

OutcomeKind = Literal["done", "retry", "permanent"]


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to.

    `retry_at` is set only when the server said when (Retry-After); otherwise a retry
    follows the backoff schedule (`next_attempt_at`).
    """

    kind: OutcomeKind
    reason: str
    retry_at: datetime | None = None
    status: int | None = None

    @property
    def host_failed(self) -> bool:
        """True when the host itself looks down (no answer, or a 5xx): HostHealth input."""
        return self.kind == "retry" and (self.status is None or self.status >= 500)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """The moment Retry-After names (seconds or HTTP-date), within [now, now + 7 days].

    None when absent or unparsable; a date in the past means now.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        moment = now + timedelta(seconds=min(int(text), int(MAX_RETRY_AFTER.total_seconds())))
    else:
        parsed = http_date_or_none(text)
        if parsed is None:
            return None
        moment = parsed
    return min(max(moment, now), now + MAX_RETRY_AFTER)


def classify_response(status: int, headers: HeaderInput, now: datetime) -> Outcome:
    """Classify an inbox's HTTP answer (see the module docstring for the table)."""
    if 200 <= status < 300:
        return Outcome("done", f"HTTP {status}", status=status)
    if status in (429, 503):
        view = headers if isinstance(headers, Headers) else Headers(headers)
        retry_at = parse_retry_after(view.get("retry-after"), now)
        return Outcome("retry", f"HTTP {status}", retry_at=retry_at, status=status)
    if status in _RETRYABLE_4XX or status >= 500:
        return Outcome("retry", f"HTTP {status}", status=status)
    if 300 <= status < 400:
        return Outcome("permanent", f"HTTP {status}: inbox redirects; not followed", status=status)
    if 400 <= status < 500:
        return Outcome("permanent", f"HTTP {status}", status=status)
    return Outcome("retry", f"unexpected HTTP {status}", status=status)


def classify_exception(exc: BaseException) -> Outcome:
    """Classify a failure to get an answer at all: refusals are permanent, the rest retry."""
    if isinstance(exc, FetchRefused):
        return Outcome("permanent", f"refused: {exc.reason}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Outcome("permanent", f"unusable inbox URL: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return Outcome("retry", f"timeout: {type(exc).__name__}")
    if isinstance(exc, httpx.HTTPError | FetchError):
        return Outcome("retry", f"network error: {type(exc).__name__}: {exc}")
    return Outcome("retry", f"unexpected error: {type(exc).__name__}: {exc}")


def backoff_delay(attempt: int, rng: random.Random) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based), with jitter from `rng`."""
    if attempt < 1:
        raise ValueError(f"attempts are counted from 1, not {attempt}")
    nominal = min(BACKOFF_BASE * (1 << min(attempt - 1, 32)), BACKOFF_CAP)
    return nominal * rng.uniform(*JITTER)


def next_attempt_at(
    outcome: Outcome, attempts: int, now: datetime, rng: random.Random
) -> datetime | None:
    """When to try again after `attempts` tries ending in `outcome`; None means stop.

    Stops on done and permanent outcomes, and once `MAX_ATTEMPTS` tries were made.
    """
    if outcome.kind != "retry" or attempts >= MAX_ATTEMPTS:
        return None
    if outcome.retry_at is not None:
        return max(outcome.retry_at, now)
    return now + backoff_delay(attempts, rng)


async def post_activity(
    client: httpx.AsyncClient,
    inbox_url: str,
    body: bytes,
    auth: httpx.Auth,
    *,
    request_timeout: float = 30.0,
    clock: Callable[[], datetime] = utc_now,
) -> Outcome:
    """POST a serialized activity to an inbox, signed by `auth`, and classify the answer.

    Never raises for HTTP or network failures, nor for our own refusals: they come back
    as an Outcome. The answer's body is read and dropped (up to `ANSWER_BYTES` in
    `ANSWER_SECONDS`), so the connection can carry the next POST to that host; a
    longer one closes the connection instead.
    """
    try:
        request = client.build_request(
            "POST",
            inbox_url,
            content=body,
            headers={"Content-Type": ACTIVITY_CONTENT_TYPE},
            timeout=request_timeout,
        )
        response = await client.send(request, auth=auth, stream=True)
    except (httpx.HTTPError, httpx.InvalidURL, FetchError) as exc:
        return classify_exception(exc)
    try:
        outcome = classify_response(response.status_code, response.headers.multi_items(), clock())
        # A bounded drain: an answer dripping in gives the connection up, not the worker.
        with contextlib.suppress(httpx.HTTPError, FetchError, TimeoutError):
            size = 0
            async with asyncio.timeout(min(request_timeout, ANSWER_SECONDS)):
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if size > ANSWER_BYTES:
                        break
        return outcome
    finally:
        await response.aclose()
