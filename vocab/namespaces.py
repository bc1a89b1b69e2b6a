"""The IRIs of the vocabularies oce speaks, and how to recognise ValueFlows IRIs.

ValueFlows 1.0 lives at :data:`VF`. Earlier releases and some implementations use
:data:`VF_LEGACY` namespaces, and some documents write ``vf:Intent`` or
``ValueFlows:Intent`` without defining the prefix, so the text reaches us unexpanded;
:func:`vf_local_name` accepts all of them and returns the local name.

:data:`OCE` is oce's own namespace for the few terms ValueFlows lacks (collection
links from actors, a commitment's fulfilled quantity). It is an identifier, never
dereferenced by oce; the terms are defined by the bundled oce context.
"""

from __future__ import annotations

__all__ = [
    "AS",
    "LDP",
    "OCE",
    "OM2",
    "PUBLIC",
    "SEC",
    "VF",
    "VF_LEGACY",
    "VF_PREFIXES",
    "XSD",
    "vf_local_name",
]

VF = "https://w3id.org/valueflows/ont/vf#"
VF_LEGACY = ("https://w3id.org/valueflows#", "https://w3id.org/valueflows/")
# Compact forms seen in the wild whose prefix a document may leave undefined.
VF_PREFIXES = ("vf:", "ValueFlows:", "valueflows:")
AS = "https://www.w3.org/ns/activitystreams#"
PUBLIC = AS + "Public"
OM2 = "http://www.ontology-of-units-of-measure.org/resource/om-2/"
OCE = "https://w3id.org/oce/ns#"
SEC = "https://w3id.org/security#"
LDP = "http://www.w3.org/ns/ldp#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# Longest first: the 1.0 namespace starts with the legacy "https://w3id.org/valueflows/".
_VF_NAMESPACES = (VF, *VF_LEGACY, *VF_PREFIXES)


def vf_local_name(iri: str) -> str | None:
    """Return the local name of a ValueFlows IRI in any accepted namespace, else None."""
    for namespace in _VF_NAMESPACES:
        if iri.startswith(namespace):
            local = iri[len(namespace) :]
            if local and "/" not in local and "#" not in local:
                return local
            return None
    return None
