"""Shared helpers for the vocab tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


#: A copy of the shared reference data (the ValueFlows 1.0 ontology and the OM2 unit
#: list), so a clean checkout tests against it; ``test_reference_copy`` keeps it equal
#: to the workspace's ``shared/reference`` wherever that is present.
BUNDLED_REFERENCE = Path(__file__).resolve().parent / "reference"


def workspace_reference(name: str) -> Path | None:
    """The workspace's shared reference file (``<workspace>/shared/reference``), if any.

    The repository may be a checkout beside ``shared/`` or a worktree deeper down, so
    look upwards; ``OCE_SHARED_REFERENCE`` names the directory explicitly.
    """
    explicit = os.environ.get("OCE_SHARED_REFERENCE")
    candidates = [Path(explicit)] if explicit else []
    candidates += [parent / "shared" / "reference" for parent in REPO.parents]
    for directory in candidates:
        if (directory / name).is_file():
            return directory / name
    return None


def shared_reference(name: str) -> Path:
    """The reference file to test against: the workspace's, else the bundled copy."""
    found = workspace_reference(name) or BUNDLED_REFERENCE / name
    if not found.is_file():
        pytest.fail(f"reference file {name} is missing from {BUNDLED_REFERENCE}")
    return found
