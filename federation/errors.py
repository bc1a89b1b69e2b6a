"""The exceptions of the federation layer, one tree.

    FederationError
    ├── KeyFormatError           a key (PEM, multibase, key document) cannot be used
    ├── SignatureError           an incoming request's signature is not trusted
    │   ├── SignatureMissing     no Signature / Signature-Input header at all
    │   ├── SignatureMalformed   a signature header or a covered header cannot be parsed
    │   ├── SignatureCoverage    the signature leaves a required component uncovered
    │   ├── SignatureTimeError   Date / created / expires outside the accepted window
    │   ├── DigestMismatch       the body digest is missing, unsupported or wrong
    │   ├── SignatureMisdirected the request was signed for another server's host
    │   └── SignatureInvalid     the cryptographic check failed (wrong key, changed data)
    ├── OriginError              the signer is not the actor, or an id is off its origin
    ├── FetchError               an outgoing request (fetch or delivery) did not succeed
    │   ├── FetchRefused         our own policy refused it: scheme, content type, size,
    │   │   │                    id mismatch, redirects
    │   │   └── AddressRefused   the host resolves only to addresses we never connect to
    │   └── FetchFailed          the network or the remote server failed (status if any)
    │       └── FetchBusy        not asked now: too many requests of ours already wait on
    │                            that host, or it just left one unanswered (retry later)
    └── WebFingerError           a WebFinger resource or answer cannot be used

Foreign errors (httpx, httpcore, cryptography, http_sfv) are translated into these where
they are caught; none of them leaves the package. Every error keeps the data that explains
it as attributes, and its message says which header, key or URL and why.
"""

from __future__ import annotations

__all__ = [
    "AddressRefused",
    "DigestMismatch",
    "FederationError",
    "FetchBusy",
    "FetchError",
    "FetchFailed",
    "FetchRefused",
    "KeyFormatError",
    "OriginError",
    "SignatureCoverage",
    "SignatureError",
    "SignatureInvalid",
    "SignatureMalformed",
    "SignatureMisdirected",
    "SignatureMissing",
    "SignatureTimeError",
    "WebFingerError",
]


class FederationError(Exception):
    """Base class of every error raised by the federation package."""


class KeyFormatError(FederationError):
    """A key could not be loaded or is of a kind we do not use."""


class SignatureError(FederationError):
    """An incoming request's signature cannot be trusted; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureMissing(SignatureError):
    """The request carries no HTTP signature of any scheme we know."""


class SignatureMalformed(SignatureError):
    """A signature header (or a header it covers) cannot be parsed."""


class SignatureCoverage(SignatureError):
    """The signature does not cover a component we require."""


class SignatureTimeError(SignatureError):
    """The signature's time (Date header, created, expires) is outside our window."""


class DigestMismatch(SignatureError):
    """The body digest is missing, of an unsupported algorithm, or does not match."""


class SignatureMisdirected(SignatureError):
    """The signature is valid, but for a request to another server (its host or
    authority is not ours): a request replayed from elsewhere."""


class SignatureInvalid(SignatureError):
    """The signature does not verify with the key (wrong key or altered request)."""


class OriginError(FederationError):
    """Who signed, who acts and where ids live do not agree."""


class FetchError(FederationError):
    """An outgoing request did not give us a usable answer."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class FetchRefused(FetchError):
    """Our policy refused the request or its answer; retrying will not help."""


class AddressRefused(FetchRefused):
    """The host resolves only to addresses we refuse to connect to."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(host, f"refused to connect to {address}: {why}")
        self.host = host
        self.address = address
        self.why = why


class FetchFailed(FetchError):
    """The network or the remote server failed; `status` is set for HTTP errors."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(url, reason)
        self.status = status


class FetchBusy(FetchFailed):
    """Not asked now: the host has too many requests of ours waiting, or it just left
    one unanswered. Worth trying again after `retry_after` seconds."""

    def __init__(self, url: str, reason: str, retry_after: int) -> None:
        super().__init__(url, reason)
        self.retry_after = retry_after


class WebFingerError(FederationError):
    """A WebFinger resource could not be parsed, or the answer names no actor."""

    def __init__(self, resource: str, why: str) -> None:
        super().__init__(f"{resource!r}: {why}")
        self.resource = resource
        self.why = why
