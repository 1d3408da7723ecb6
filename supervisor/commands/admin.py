"""``greenroom ps``, ``greenroom restart ID``, ``greenroom reload [ID...]``, ``greenroom debug
ID``: admin commands that talk to the running supervisor (see ``admin_client``)."""

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
    ReloadRequest,
    ReloadResponse,
    RestartRequest,
    RestartResponse,
    WorkersRequest,
    WorkersResponse,
)
from runtime.settings import Settings, SettingsError, load_settings
from supervisor.commands.admin_client import AdminError, AdminRequest, AdminResponse, admin_request
from supervisor.commands.reload_report import render_reload
from supervisor.commands.workers_table import render_notes, render_workers


def _settings(server_url: str | None, token: str | None) -> Settings:
    try:
        return load_settings({"server_url": server_url, "token": token})
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run(settings: Settings, request: AdminRequest, timeout_s: float = 30.0) -> AdminResponse:
    try:
        return asyncio.run(admin_request(settings.server_url, request,
                                         token=settings.gateway.token, timeout_s=timeout_s))
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
    notes = render_notes(response.workers, response.reload_error)
    if notes:
        click.echo("\n" + notes)


@click.command("restart")
@click.argument("character_id")
@_connection_options
def restart(character_id: str, server_url: str | None, token: str | None) -> None:
    """Restart one character's worker now; clears a `failed` quarantine."""
    response = _run(_settings(server_url, token),
                    RestartRequest(message_id="restart", character_id=character_id))
    assert isinstance(response, RestartResponse)
    click.echo(f"restarting {character_id} (watch it with `greenroom ps`)")
    if response.stale:
        click.echo(f"warning: {character_id} restarts on STALE code: {response.stale}",
                   err=True)


@click.command("reload")
@click.argument("character_ids", nargs=-1, metavar="[ID]...")
@_connection_options
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1.0), default=300.0,
              show_default=True, help="Seconds to wait for the whole roll.")
@click.option("--json", "as_json", is_flag=True, help="The reload_response as JSON.")
def reload(character_ids: tuple[str, ...], server_url: str | None, token: str | None,
           timeout_s: float, as_json: bool) -> None:
    """Run the code and character files on disk: every worker (or those IDs), one at a time.

    Changed code starts a new fork server first; if it fails to load or rehearse a turn,
    nothing changes and the error is printed with its file and line (exit code 1). A
    character whose file is invalid keeps its running worker (exit code 1)."""
    response = _run(_settings(server_url, token),
                    ReloadRequest(message_id="reload", character_ids=list(character_ids)),
                    timeout_s=timeout_s)
    assert isinstance(response, ReloadResponse)
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(response), indent=2))
        code = 0 if response.success else 1
    else:
        text, code = render_reload(response)
        click.echo(text, err=code != 0 and response.error is not None)
    sys.exit(code)


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
