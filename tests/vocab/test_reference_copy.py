"""The bundled reference data is the workspace's, byte for byte, where both exist."""

from __future__ import annotations

import pytest

from tests.vocab.conftest import BUNDLED_REFERENCE, workspace_reference


@pytest.mark.parametrize("name", ["valueflows-1.0.0.ttl", "om2-units-en.csv"])
def test_bundled_copy_is_the_shared_reference(name: str) -> None:
    bundled = (BUNDLED_REFERENCE / name).read_bytes()
    assert bundled, f"{name} is empty"
    shared = workspace_reference(name)
    if shared is not None:  # a clean checkout has only the copy, which the other tests use
        assert shared.read_bytes() == bundled
