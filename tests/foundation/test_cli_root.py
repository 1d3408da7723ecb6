"""The `greenroom` command itself: version, help, and every registered command importable."""

from __future__ import annotations

import importlib

from click.testing import CliRunner

from supervisor.cli import COMMANDS, main


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("greenroom, version ")


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_every_registered_command_resolves_to_a_click_command() -> None:
    for name, target in COMMANDS.items():
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert command.name == name, f"{target} is named {command.name!r}, registered as {name!r}"


def test_unknown_command_fails_with_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
