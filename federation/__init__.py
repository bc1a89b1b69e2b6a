"""The ActivityPub protocol: signatures, safe fetching, WebFinger, delivery policy.

Signature and parsing code is pure (functions over method, target, headers, body, an
injected key and `now`); network code sits at the edge (`auth`, `transport`, `fetcher`,
`webfinger.resolve`, `remotekey.fetch_remote_key`, `delivery.post_activity`). The
package knows activities, not ledgers, and never touches the database.
"""

from federation.algorithms import ALGORITHMS, Algorithm, algorithms_for
from federation.auth import HttpSignatureAuth
from federation.clock import MAX_AGE, MAX_FUTURE, format_http_date, parse_http_date
from federation.delivery import (
    MAX_ATTEMPTS,
    Outcome,
    backoff_delay,
    classify_exception,
    classify_response,
    next_attempt_at,
    parse_retry_after,
    post_activity,
)
from federation.digest import (
    check_body_digests,
    check_content_digest,
    check_digest,
    content_digest_header,
    digest_header,
)
from federation.errors import (
    AddressRefused,
    DigestMismatch,
    FederationError,
    FetchError,
    FetchFailed,
    FetchRefused,
    KeyFormatError,
    OriginError,
    SignatureCoverage,
    SignatureError,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
    SignatureTimeError,
    WebFingerError,
)
from federation.fetcher import SafeFetcher, is_activitystreams_type, is_jrd_type
from federation.headers import Headers
from federation.hosthealth import (
    HostHealth,
    HostPolicy,
    HostState,
    host_state,
    record_contact,
    record_failure,
    record_success,
    start_probe,
)
from federation.httpsig import CavageParams, parse_signature_header, sign_request
from federation.keycache import KeyCache
from federation.keys import (
    KeyPair,
    PrivateKeyType,
    PublicKey,
    PublicKeyType,
    RemoteKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    key_kind,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
)
from federation.multikey import decode_ed25519_multikey, encode_ed25519_multikey
from federation.remotekey import fetch_remote_key, key_from_document
from federation.request import RequestParts, origin_of
from federation.rfc9421 import sign_rfc9421
from federation.transport import address_refusal, guarded_transport
from federation.verify import (
    Verified,
    actor_id_of,
    check_actor_matches_signer,
    check_same_origin,
    signature_key_id,
    signature_scheme,
    verify_request,
)
from federation.webfinger import (
    actor_id_from_jrd,
    build_host_meta,
    build_jrd,
    parse_resource,
    resolve,
    webfinger_url,
)

__all__ = [
    "ALGORITHMS",
    "MAX_AGE",
    "MAX_ATTEMPTS",
    "MAX_FUTURE",
    "AddressRefused",
    "Algorithm",
    "CavageParams",
    "DigestMismatch",
    "FederationError",
    "FetchError",
    "FetchFailed",
    "FetchRefused",
    "Headers",
    "HostHealth",
    "HostPolicy",
    "HostState",
    "HttpSignatureAuth",
    "KeyCache",
    "KeyFormatError",
    "KeyPair",
    "OriginError",
    "Outcome",
    "PrivateKeyType",
    "PublicKey",
    "PublicKeyType",
    "RemoteKey",
    "RequestParts",
    "SafeFetcher",
    "SignatureCoverage",
    "SignatureError",
    "SignatureInvalid",
    "SignatureMalformed",
    "SignatureMissing",
    "SignatureTimeError",
    "Verified",
    "WebFingerError",
    "actor_id_from_jrd",
    "actor_id_of",
    "address_refusal",
    "algorithms_for",
    "backoff_delay",
    "build_host_meta",
    "build_jrd",
    "check_actor_matches_signer",
    "check_body_digests",
    "check_content_digest",
    "check_digest",
    "check_same_origin",
    "classify_exception",
    "classify_response",
    "content_digest_header",
    "decode_ed25519_multikey",
    "digest_header",
    "encode_ed25519_multikey",
    "fetch_remote_key",
    "format_http_date",
    "generate_ed25519_keypair",
    "generate_rsa_keypair",
    "guarded_transport",
    "host_state",
    "is_activitystreams_type",
    "is_jrd_type",
    "key_from_document",
    "key_kind",
    "load_private_key",
    "load_public_key",
    "next_attempt_at",
    "origin_of",
    "parse_http_date",
    "parse_resource",
    "parse_retry_after",
    "parse_signature_header",
    "post_activity",
    "private_key_pem",
    "public_key_pem",
    "record_contact",
    "record_failure",
    "record_success",
    "resolve",
    "sign_request",
    "sign_rfc9421",
    "signature_key_id",
    "signature_scheme",
    "start_probe",
    "verify_request",
    "webfinger_url",
]
