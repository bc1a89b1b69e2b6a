"""The cooperative commands, run as a user runs them (real processes, SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.processes import oce


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_members_equations_and_wrong_input(database_url: str, tmp_path: Path) -> None:
    env = {"OCE_DATABASE_URL": database_url, "OCE_BASE_URL": "https://coop.example"}
    oce("agent", "create", "bakery", "--type", "organization", "--joining", "open", env=env)
    oce("agent", "create", "ann", env=env)
    added = oce("member", "add", "bakery", "ann", "--role", "coordinator", env=env)
    assert "member coordinator" in added.stdout
    remote = "https://other.example/agents/bob"
    oce("member", "add", "bakery", remote, env=env)
    listing = oce("member", "list", "bakery", env=env).stdout.splitlines()
    assert listing == [
        "https://coop.example/agents/ann\tmember coordinator",
        f"{remote}\tmember",
    ]

    person = oce("agent", "create", "cat", "--joining", "open", env=env, check=False)
    assert person.returncode == 1
    assert person.stderr.strip() == (
        "oce: error: --joining is for organizations (--type organization)"
    )
    shares = oce("org", "set", "bakery", "--joining", "shares", env=env, check=False)
    assert "needs the share's price and currency" in shares.stderr

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "ValueEquation", "name": "x", "buckets": [
        {"name": "w", "percentage": "50", "rules": [{"action": "work", "rate": "eval(1)"}]}
    ]}))  # fmt: skip
    refused = oce("equation", "create", "bakery", str(bad), env=env, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("oce: error: buckets[0].rules[0].rate: 'eval' is not")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"type": "ValueEquation", "name": "default", "buckets": [
        {"name": "w", "percentage": "50", "rules": [{"action": "work", "rate": "hours * 2"}]}
    ]}))  # fmt: skip
    saved = oce("equation", "create", "bakery", str(good), env=env)
    assert "value equation 'default' saved" in saved.stdout
    again = oce("equation", "create", "bakery", str(good), env=env, check=False)
    assert "has an equation 'default'" in again.stderr

    missing = oce(
        "distribute", "bakery", "--income", "https://coop.example/events/none",
        "--equation", "default", "--dry-run", env=env, check=False,
    )  # fmt: skip
    assert missing.returncode == 1
    assert "is not an event recorded here" in missing.stderr
