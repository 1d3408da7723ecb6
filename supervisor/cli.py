"""The ``greenroom`` command: one click group; each part of the system owns its commands.

Subcommands are imported only when invoked, so ``greenroom --help`` and ``greenroom ps``
stay fast and a broken optional part cannot stop the others from working.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

import click

# command name → "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "chat": "client.chat_cli:chat",
    "characters": "supervisor.commands.characters:characters",
    "lorebook": "supervisor.commands.lorebook:lorebook",
    "serve": "supervisor.commands.serve:serve",
    "gateway": "supervisor.commands.serve:gateway",
    "ps": "supervisor.commands.admin:ps",
    "restart": "supervisor.commands.admin:restart",
    "reload": "supervisor.commands.admin:reload",
    "debug": "supervisor.commands.admin:debug",
    "logs": "supervisor.commands.logs:logs",
    "trace": "supervisor.commands.trace:trace",
    "prompt": "supervisor.commands.prompt:prompt",
}


def _version() -> str:
    try:
        return version("greenroom")
    except PackageNotFoundError:
        return "0+unknown"


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="greenroom")
def main() -> None:
    """greenroom: role-play characters, one supervised worker process each."""
