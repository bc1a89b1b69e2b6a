"""Settings: defaults, environment, TOML file, and one-line errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from instance.settings import SettingsError, load_settings


def test_defaults_serve_locally_on_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings({"OCE_DATA_DIR": str(tmp_path)})
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/oce.sqlite3"
    assert settings.allow_private_network is False


def test_base_url_follows_the_listening_port_when_not_set() -> None:
    assert load_settings({}, port=9001).base_url == "http://127.0.0.1:9001"


def test_environment_values_are_parsed() -> None:
    settings = load_settings(
        {
            "OCE_BASE_URL": "https://Coop.Example/",
            "OCE_DATABASE_URL": "postgresql://u@db/oce",
            "OCE_ALLOW_PRIVATE_NETWORK": "1",
        }
    )
    assert settings.base_url == "https://coop.example"
    assert settings.host_name == "coop.example"
    assert settings.database_url == "postgresql+asyncpg://u@db/oce"
    assert settings.allow_private_network is True


def test_toml_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "oce.toml"
    config.write_text(
        'base_url = "https://file.example"\nport = 9100\nallow_private_network = true\n'
    )
    settings = load_settings({"OCE_CONFIG": str(config), "OCE_PORT": "9200"})
    assert settings.base_url == "https://file.example"
    assert settings.port == 9200
    assert settings.allow_private_network is True


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"OCE_BASE_URL": "coop.example"}, "OCE_BASE_URL"),
        ({"OCE_BASE_URL": "https://coop.example/path"}, "OCE_BASE_URL"),
        ({"OCE_BASE_URL": "https://coop.example:99999"}, "OCE_BASE_URL"),
        ({"OCE_DATABASE_URL": "mysql://x/y"}, "OCE_DATABASE_URL"),
        ({"OCE_ALLOW_PRIVATE_NETWORK": "maybe"}, "OCE_ALLOW_PRIVATE_NETWORK"),
        ({"OCE_PORT": "eighty"}, "OCE_PORT"),
        ({"OCE_PORT": "70000"}, "OCE_PORT"),
        ({"OCE_MAX_BODY_BYTES": "0"}, "OCE_MAX_BODY_BYTES"),
        ({"OCE_LOG_LEVEL": "loud"}, "OCE_LOG_LEVEL"),
        ({"OCE_CONFIG": "/nonexistent/oce.toml"}, "OCE_CONFIG"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    message = str(caught.value)
    assert message.startswith(named)
    assert "\n" not in message


def test_unknown_and_malformed_toml_are_named(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('colour = "green"\n')
    with pytest.raises(SettingsError, match=r"colour.*unknown setting"):
        load_settings({"OCE_CONFIG": str(unknown)})
    broken = tmp_path / "broken.toml"
    broken.write_text("base_url = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings({"OCE_CONFIG": str(broken)})
