"""``greenroom ps``, ``greenroom restart ID``, ``greenroom debug ID``: admin commands that
talk to the running supervisor (see ``admin_client``)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from typing import Any

import click
import msgspec

from protocol.admin import (
    DebugRequest,
    DebugResponse,
    RestartRequest,
    WorkersRequest,
    WorkersResponse,
)
from runtime.settings import Settings, SettingsError, load_settings
from supervisor.commands.admin_client import AdminError, AdminRequest, AdminResponse, admin_request
from supervisor.commands.workers_table import render_workers


def _settings(server_url: str | None, token: str | None) -> Settings:
    try:
        return load_settings({"server_url": server_url, "token": token})
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run(settings: Settings, request: AdminRequest) -> AdminResponse:
    try:
        return asyncio.run(admin_request(settings.server_url, request,
                                         token=settings.gateway.token))
    except AdminError as exc:
        raise click.ClickException(f"[{exc.code}] {exc}") from None


def _connection_options(command: Any) -> Any:
    command = click.option("--token", default=None,
                           help="The server's token (default: GREENROOM_TOKEN).")(command)
    return click.option("--server-url", default=None,
                        help="The gateway (default: GREENROOM_SERVER_URL, "
                             "ws://localhost:8765).")(command)


@click.command("ps")
@_connection_options
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
def ps(server_url: str | None, token: str | None, as_json: bool) -> None:
    """Every character's worker: pid, state, uptime, restarts, memory, clients, last crash."""
    response = _run(_settings(server_url, token), WorkersRequest(message_id="ps"))
    assert isinstance(response, WorkersResponse)
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(response.workers), indent=2))
        return
    if not response.workers:
        click.echo("no workers yet (start some with `greenroom serve -c ID`)")
        return
    on_terminal = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if on_terminal else None
    click.echo(render_workers(response.workers, width,
                              color=on_terminal and "NO_COLOR" not in os.environ))


@click.command("restart")
@click.argument("character_id")
@_connection_options
def restart(character_id: str, server_url: str | None, token: str | None) -> None:
    """Restart one character's worker now; clears a `failed` quarantine."""
    _run(_settings(server_url, token),
         RestartRequest(message_id="restart", character_id=character_id))
    click.echo(f"restarting {character_id} (watch it with `greenroom ps`)")


@click.command("debug")
@click.argument("character_id")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port for debugpy on 127.0.0.1 (default: any free port).")
@click.option("--wait", is_flag=True, help="Stop the worker until a debugger attaches.")
@_connection_options
def debug(character_id: str, port: int | None, wait: bool, server_url: str | None,
          token: str | None) -> None:
    """Start debugpy in one running worker and print where to attach."""
    response = _run(_settings(server_url, token),
                    DebugRequest(message_id="debug", character_id=character_id, port=port,
                                 wait=wait))
    assert isinstance(response, DebugResponse)
    click.echo(f"{character_id} (pid {response.pid}): debugpy listens on "
               f"127.0.0.1:{response.port}")
    click.echo("attach from VS Code with a launch.json \"attach\" configuration "
               f"(connect: {{host: 127.0.0.1, port: {response.port}}}); see docs/supervisor.md")
    click.echo("debugpy has no authentication: any local program can drive that port. Close "
               f"it as soon as you are done: `greenroom restart {character_id}`")
    click.echo("a breakpoint() opens a pdb instead: its port and one-time key are in "
               "`greenroom logs --event pdb_listening`; `nc 127.0.0.1 PORT`, type the key first")
