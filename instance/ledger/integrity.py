"""Integrity proofs on economic records: ours signed, peers' verified.

Every proposal, commitment, finalized agreement, economic event and resource
specification an agent's client makes here is signed with that agent's Ed25519 key
(FEP-8b32, cryptosuite eddsa-jcs-2022; the key is published in the actor's
``assertionMethod``, FEP-521a). The signed object carries its own ``@context``, so it
can be checked on its own, long after and away from the request that carried it. When
a peer's object arrives with a proof, the proof must verify with a key its sender
owns; the record then keeps the object exactly as signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation import (
    FetchError,
    KeyFormatError,
    OriginError,
    ProofError,
    VerifiedProof,
    add_proof,
    encode_ed25519_multikey,
    generate_ed25519_keypair,
    load_private_key,
    load_public_key,
    proof_of,
    verify_proof,
)
from instance.peers import Peers
from instance.store.models import Agent
from instance.urls import Urls
from vocab import DATA_INTEGRITY_V1, outgoing_context

__all__ = ["SIGNED_TYPES", "assertion_methods", "proof_key_id", "sign", "verify_peer_object"]

#: The records whose objects carry their author's proof: those that never change once
#: made (a proposal is edited and shows live quantities, so it is not among them).
SIGNED_TYPES = frozenset({"Commitment", "Agreement", "EconomicEvent", "ResourceSpecification"})


def proof_key_id(urls: Urls, agent: Agent) -> str:
    return f"{urls.actor(agent.username)}#ed25519-key"


def ensure_proof_key(agent: Agent) -> None:
    """Give an agent made before proofs existed its Ed25519 key (the caller commits)."""
    if agent.proof_private_pem is None:
        pair = generate_ed25519_keypair()
        agent.proof_private_pem, agent.proof_public_pem = pair.private_pem, pair.public_pem


def assertion_methods(urls: Urls, agent: Agent) -> list[dict[str, Any]]:
    """The actor's ``assertionMethod``: its proof key as a Multikey (FEP-521a)."""
    if agent.proof_public_pem is None:
        return []
    key = load_public_key(agent.proof_public_pem)
    return [
        {
            "id": proof_key_id(urls, agent),
            "type": "Multikey",
            "controller": urls.actor(agent.username),
            "publicKeyMultibase": encode_ed25519_multikey(key),  # type: ignore[arg-type]
        }
    ]


async def sign(
    session: AsyncSession, urls: Urls, agent: Agent, document: Mapping[str, Any]
) -> dict[str, Any]:
    """``document`` with its own ``@context`` and the agent's proof."""
    if agent.proof_private_pem is None:
        # An agent made before proofs existed gets its key now, stored with this
        # transaction (``agent`` may come from another session).
        row = await session.get(Agent, agent.id)
        assert row is not None
        ensure_proof_key(row)
        agent.proof_private_pem, agent.proof_public_pem = (
            row.proof_private_pem,
            row.proof_public_pem,
        )
    assert agent.proof_private_pem is not None
    private = load_private_key(agent.proof_private_pem)
    body = {key: value for key, value in document.items() if key not in ("@context", "proof")}
    contextual = {"@context": [*outgoing_context(urls.base), DATA_INTEGRITY_V1], **body}
    return add_proof(contextual, private, proof_key_id(urls, agent))  # type: ignore[arg-type]


async def verify_peer_object(
    peers: Peers, document: Mapping[str, Any], signer: str
) -> VerifiedProof | None:
    """Verify a peer's object's proof, if it has one; None when it carries none.

    The key must be one ``signer`` (the verified sender of the activity) owns: a proof
    by anyone else proves nothing about this activity. Raises ProofError.
    """
    proof = proof_of(document)
    if proof is None:
        return None
    method = proof.get("verificationMethod")
    if not isinstance(method, str):
        raise ProofError("the proof names no verificationMethod")
    try:
        key = await peers.keys.get(method)
    except (FetchError, KeyFormatError, OriginError) as exc:
        raise ProofError(f"cannot get the proof's key {method}: {exc}") from None
    if key.owner != signer:
        raise ProofError(f"the proof's key {method} belongs to {key.owner}, not {signer}")
    return verify_proof(document, key.key)


async def verify_anywhere(
    peers: Peers, urls: Urls, agents: Mapping[str, Agent], document: Mapping[str, Any]
) -> list[tuple[str, VerifiedProof]]:
    """Verify every proof in a document (an activity and the objects in it).

    Keys are our agents' own (``agents``, by key id), else remote keys as stored or
    fetched. Returns where each proof sits and who made it; raises ProofError for the
    first one that fails.
    """
    found: list[tuple[str, VerifiedProof]] = []
    candidates: list[tuple[str, Mapping[str, Any]]] = [("/", document)]
    candidates += [
        (f"/{key}", value)
        for key in ("object", "result")
        if isinstance(value := document.get(key), Mapping)
    ]
    for where, value in candidates:
        proof = proof_of(value)
        if proof is None:
            continue
        method = str(proof.get("verificationMethod"))
        local = agents.get(method)
        if local is not None and local.proof_public_pem is not None:
            key = load_public_key(local.proof_public_pem)
            found.append((where, verify_proof(value, key)))
            continue
        try:
            remote = await peers.keys.get(method)
        except (FetchError, KeyFormatError, OriginError) as exc:
            raise ProofError(f"cannot get the proof's key {method}: {exc}") from None
        found.append((where, verify_proof(value, remote.key)))
    if not found:
        raise ProofError("the document carries no eddsa-jcs-2022 proof")
    return found
