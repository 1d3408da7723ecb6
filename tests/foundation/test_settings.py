"""Settings: flags over environment over .env over defaults, with clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime.settings import (
    ENV_VARS,
    FLAT_FIELDS,
    REPO_ROOT,
    Settings,
    SettingsError,
    load_settings,
)


def test_defaults_are_safe(tmp_path: Path) -> None:
    settings = load_settings(environ={}, dotenv_path=tmp_path / "missing.env")
    assert settings.gateway.host == "127.0.0.1"
    assert settings.gateway.token is None
    assert settings.engine.backend == "scripted"


def test_environment_overrides_defaults(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"GREENROOM_PORT": "9001", "OLLAMA_MODEL": "qwen3"},
        dotenv_path=tmp_path / "missing.env",
    )
    assert settings.gateway.port == 9001
    assert settings.engine.ollama_model == "qwen3"


def test_flags_override_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {"port": 9100, "host": None},
        environ={"GREENROOM_PORT": "9001", "GREENROOM_HOST": "127.0.0.2"},
        dotenv_path=tmp_path / "missing.env",
    )
    assert settings.gateway.port == 9100
    assert settings.gateway.host == "127.0.0.2"  # a None flag means "not given"


def test_dotenv_file_is_read_but_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("GREENROOM_ENGINE=ollama\nGREENROOM_PORT=9200\n")
    settings = load_settings(environ={"GREENROOM_PORT": "9300"}, dotenv_path=dotenv)
    assert settings.engine.backend == "ollama"
    assert settings.gateway.port == 9300


def test_comma_separated_origins_and_hosts_become_tuples(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"GREENROOM_ALLOWED_ORIGINS": "http://a.test, http://b.test",
                 "GREENROOM_ALLOWED_HOSTS": "greenroom.lan,,box.local "},
        dotenv_path=tmp_path / "missing.env",
    )
    assert settings.gateway.allowed_origins == ("http://a.test", "http://b.test")
    assert settings.gateway.allowed_hosts == ("greenroom.lan", "box.local")


def test_allowed_origins_and_hosts_are_normalised_as_browsers_send_them(tmp_path: Path) -> None:
    """They were matched exactly: ``http://LocalHost:3000/`` never matched a page."""
    settings = load_settings(
        {"allowed_hosts": ("Box.LAN.:8765",)},
        environ={"GREENROOM_ALLOWED_ORIGINS": "http://LocalHost:3000/,https://app.example:443"},
        dotenv_path=tmp_path / "missing.env",
    )
    assert settings.gateway.allowed_origins == ("http://localhost:3000", "https://app.example")
    assert settings.gateway.allowed_hosts == ("box.lan",)


def test_invalid_value_names_the_variable_and_the_flag(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as excinfo:
        load_settings(environ={"GREENROOM_ENGINE": "gpt"}, dotenv_path=tmp_path / "none")
    message = str(excinfo.value)
    assert "GREENROOM_ENGINE" in message
    assert "--engine" in message
    assert "'gpt'" in message


def test_every_variable_maps_to_a_field_and_is_documented_in_env_example() -> None:
    example = (REPO_ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert set(ENV_VARS) == documented
    assert set(ENV_VARS.values()) <= set(FLAT_FIELDS)


def test_env_example_values_are_the_defaults() -> None:
    from_example = load_settings(environ={}, dotenv_path=REPO_ROOT / ".env.example")
    assert from_example == Settings()


def test_max_message_chars_is_read_from_its_variable(tmp_path: Path) -> None:
    settings = load_settings(environ={"GREENROOM_MAX_MESSAGE_CHARS": "500"},
                             dotenv_path=tmp_path / "none")
    assert settings.engine.max_message_chars == 500


def test_each_setting_lands_in_the_slice_of_the_part_that_reads_it() -> None:
    settings = Settings.from_flat(port=9001, engine="ollama", restart_max=2, log_level="debug",
                                  server_url="ws://box:1")
    assert (settings.gateway.port, settings.engine.backend, settings.restart.restart_max,
            settings.logging.log_level, settings.server_url) == (9001, "ollama", 2, "debug",
                                                                 "ws://box:1")


def test_an_unknown_setting_name_is_refused() -> None:
    with pytest.raises(TypeError, match="'prot'"):
        Settings.from_flat(prot=1)


def test_a_bad_value_in_a_slice_names_its_flag_and_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"--port / GREENROOM_PORT"):
        load_settings(environ={"GREENROOM_PORT": "99999"}, dotenv_path=tmp_path / "none")
    with pytest.raises(SettingsError, match=r"--engine / GREENROOM_ENGINE"):
        load_settings(environ={"GREENROOM_ENGINE": "gpt"}, dotenv_path=tmp_path / "none")
