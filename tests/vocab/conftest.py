"""Shared helpers for the vocab tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_reference(name: str) -> Path:
    """Find a file of the shared reference data (``<workspace>/shared/reference``).

    The repository may be a checkout beside ``shared/`` or a worktree deeper down, so
    look upwards; ``OCE_SHARED_REFERENCE`` names the directory explicitly.
    """
    explicit = os.environ.get("OCE_SHARED_REFERENCE")
    candidates = [Path(explicit)] if explicit else []
    candidates += [parent / "shared" / "reference" for parent in REPO.parents]
    for directory in candidates:
        if (directory / name).is_file():
            return directory / name
    pytest.fail(f"shared reference file {name} not found above {REPO} (set OCE_SHARED_REFERENCE)")
