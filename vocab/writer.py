"""Writing outbound documents: one canonical compact form, with the oce context.

:func:`to_json` writes a typed object as the canonical dict :func:`vocab.reader.normalize`
produces, and :func:`write` adds the ``@context`` every outgoing document carries, so
``read(write(x, base_url)) == x`` for every object (property-tested).
"""

from __future__ import annotations

from typing import Any

from vocab.contexts import outgoing_context
from vocab.objects import VFObject, object_to_json

__all__ = ["to_json", "write"]


def to_json(obj: VFObject) -> dict[str, Any]:
    """Canonical compact JSON of ``obj`` without ``@context`` (for embedding in activities)."""
    return object_to_json(obj)


def write(obj: VFObject, base_url: str) -> dict[str, Any]:
    """Canonical compact JSON of ``obj`` with the ``@context`` of ``base_url``'s instance."""
    return {"@context": outgoing_context(base_url), **object_to_json(obj)}
