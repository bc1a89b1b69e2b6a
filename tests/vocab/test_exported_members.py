"""``vocab.__all__`` is the whole public surface, and complete (as httpx tests its own)."""

from __future__ import annotations

import importlib
import types

import vocab

SUBMODULES = [
    "actions",
    "contexts",
    "errors",
    "jsontext",
    "ldwork",
    "namespaces",
    "objects",
    "quantity",
    "reader",
    "units",
    "writer",
]


def test_all_public_members_are_exported() -> None:
    public = {
        name
        for name, value in vars(vocab).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(vocab.__all__) == public
    assert len(vocab.__all__) == len(set(vocab.__all__))


def test_every_export_is_defined_in_a_public_submodule() -> None:
    exported_by_submodules = set()
    for name in SUBMODULES:
        module = importlib.import_module(f"vocab.{name}")
        for member in module.__all__:
            assert hasattr(module, member), f"vocab.{name}.__all__ names missing {member}"
        exported_by_submodules |= set(module.__all__)
    assert set(vocab.__all__) <= exported_by_submodules


def test_the_api_other_packages_call() -> None:
    from vocab.contexts import AS_CONTEXT, OCE_CONTEXT_PATH, SECURITY_V1, document_loader
    from vocab.errors import JsonError
    from vocab.jsontext import loads
    from vocab.reader import normalize, parse_object, read
    from vocab.writer import to_json, write

    assert AS_CONTEXT == "https://www.w3.org/ns/activitystreams"
    assert SECURITY_V1 == "https://w3id.org/security/v1"
    assert OCE_CONTEXT_PATH == "/ns/oce-v1.jsonld"
    assert vocab.PUBLIC == "https://www.w3.org/ns/activitystreams#Public"
    assert callable(document_loader)
    assert all(callable(f) for f in (loads, normalize, parse_object, read, to_json, write))
    assert issubclass(JsonError, vocab.VocabError)
