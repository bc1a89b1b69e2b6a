"""deploy/ stays true to the code: every setting documented, files that parse and agree.

Docker, Caddy and systemd are not needed here: the files are read as data and checked
against instance.settings, so a new setting or a changed limit cannot slip past them.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from instance.settings import Settings, load_settings
from tests.processes import ROOT

DEPLOY = ROOT / "deploy"
EXAMPLE = DEPLOY / "oce.example.toml"
SETTINGS = {f.name: f for f in fields(Settings)}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


class _UnitParser(configparser.ConfigParser):
    """Keeps the case of keys (ExecStart, not execstart), as systemd does."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _unit(name: str) -> configparser.ConfigParser:
    # systemd repeats keys (SystemCallFilter=, ExecStart=); the last one is enough here.
    parser = _UnitParser(strict=False, interpolation=None)
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def test_the_example_settings_load_as_written() -> None:
    settings = load_settings({"OCE_CONFIG": str(EXAMPLE)})
    written = tomllib.loads(EXAMPLE.read_text())
    defaults = Settings()
    for name, value in written.items():
        # TOML has no paths: compare as the setting's own type (a Path for data_dir).
        assert getattr(settings, name) == type(getattr(defaults, name))(value), name


def test_the_example_lists_and_explains_every_setting() -> None:
    lines = EXAMPLE.read_text().splitlines()
    assert set(tomllib.loads(EXAMPLE.read_text())) == set(SETTINGS)
    for name in SETTINGS:
        (index,) = [i for i, line in enumerate(lines) if line.startswith(f"{name} = ")]
        assert lines[index - 1].startswith("# "), f"{name} has no comment above it"


def test_the_compose_file_runs_oce_on_postgresql_15_behind_caddy() -> None:
    services = _compose()["services"]
    assert services["db"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    web = services["web"]
    assert web["command"] == ["oce", "serve"]
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    assert web["pull_policy"] == "build"
    assert web["environment"]["OCE_DATABASE_URL"].startswith("postgresql+asyncpg://oce:")
    assert "ports" not in web, "only the proxy may reach oce"
    assert services["worker"]["command"] == ["oce", "worker"]
    assert services["worker"]["profiles"] == ["workers"]
    assert services["caddy"]["environment"]["OCE_UPSTREAM"] == "web:8000"
    build = DEPLOY / web["build"]["context"] / web["build"]["dockerfile"]
    assert build.resolve() == (DEPLOY / "Dockerfile").resolve()
    for volume in services["caddy"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (DEPLOY / source).exists(), source


def test_the_compose_file_names_only_real_settings_and_documented_variables() -> None:
    web = _compose()["services"]["web"]["environment"]
    unknown = [key for key in web if key.startswith("OCE_") and key[4:].lower() not in SETTINGS]
    assert unknown == []
    text = (DEPLOY / "compose.yaml").read_text()
    required = {name for name, default in re.findall(r"\$\{(\w+)(:-)?", text) if not default}
    listed = set(re.findall(r"^(\w+)=", (DEPLOY / ".env.example").read_text(), re.MULTILINE))
    assert required <= listed


def test_the_proxies_allow_exactly_the_instance_body_limit() -> None:
    limit = Settings().max_body_bytes
    assert limit == 1024 * 1024
    assert tomllib.loads(EXAMPLE.read_text())["max_body_bytes"] == limit
    assert re.search(r"^\s*max_size 1MiB$", (DEPLOY / "Caddyfile").read_text(), re.MULTILINE)
    nginx = (DEPLOY / "nginx" / "oce.conf").read_text()
    assert re.search(r"^\s*client_max_body_size 1m;$", nginx, re.MULTILINE)
    assert re.search(r"^\s*proxy_set_header Host \$http_host;$", nginx, re.MULTILINE)
    assert re.search(r"^\s*proxy_set_header X-Forwarded-Proto \$scheme;$", nginx, re.MULTILINE)


@pytest.mark.parametrize(
    ("unit", "command"), [("oce.service", "serve"), ("oce-worker@.service", "worker")]
)
def test_the_units_run_oce_unprivileged_with_the_settings_file(unit: str, command: str) -> None:
    service = _unit(unit)["Service"]
    assert service["ExecStart"].split() == ["/opt/oce/venv/bin/oce", command]
    assert service["Environment"] == "OCE_CONFIG=/etc/oce/oce.toml"
    assert service["User"] == "oce"
    assert service["StateDirectory"] == "oce"
    for hardening in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "RestrictSUIDSGID"):
        assert service[hardening] == "yes", hardening
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""


def test_the_image_holds_every_package() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) ", dockerfile, re.MULTILINE))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages <= copied
    for source in copied:
        assert (ROOT / source).is_dir(), source
    assert re.search(r'^CMD \["oce", "serve"\]$', dockerfile, re.MULTILINE)


def test_the_docs_cover_each_deploy_file() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            assert path.name in docs, f"docs/deploy.md does not mention {path.name}"


def test_every_deploy_file_says_what_it_is() -> None:
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file():
            assert path.read_text().startswith("#"), f"{path} does not begin with a comment"


def test_example_paths_are_absolute() -> None:
    written = tomllib.loads(EXAMPLE.read_text())
    assert Path(written["data_dir"]).is_absolute()
    assert written["database_url"].startswith("sqlite+aiosqlite:////")
