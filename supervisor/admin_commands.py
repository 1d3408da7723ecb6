"""``greenroom ps``, ``greenroom restart ID``, ``greenroom debug ID``: admin commands that
talk to the running supervisor (see ``admin_client``)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.table import Table

from protocol.admin import (
    DebugRequest,
    DebugResponse,
    RestartRequest,
    WorkerInfo,
    WorkersRequest,
    WorkersResponse,
)
from supervisor.admin_client import AdminError, AdminRequest, AdminResponse, admin_request
from supervisor.settings import Settings, SettingsError, load_settings


def format_bytes(size: int | None) -> str:
    """``48.2 MiB``; ``-`` when unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def format_uptime(seconds: float | None) -> str:
    """``4s``, ``3m12s``, ``2h05m``, ``3d04h``; ``-`` when not running."""
    if seconds is None:
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def workers_table(workers: list[WorkerInfo]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("CHARACTER", "PID", "STATE", "UPTIME", "RESTARTS", "RSS", "USS",
                   "CLIENTS", "DEBUG", "LAST CRASH"):
        table.add_column(column, no_wrap=column != "LAST CRASH")
    styles = {"ready": "green", "debugging": "magenta", "failed": "bold red",
              "restarting": "yellow", "starting": "yellow"}
    for w in workers:
        table.add_row(
            w.character_id, str(w.pid or "-"),
            f"[{styles.get(w.state, 'dim')}]{w.state}[/]", format_uptime(w.uptime_s),
            str(w.restarts), format_bytes(w.rss_bytes), format_bytes(w.uss_bytes),
            str(w.sessions), f"127.0.0.1:{w.debug_port}" if w.debug_port else "-",
            w.last_crash or "-",
        )
    return table


def _settings(server_url: str | None, token: str | None) -> Settings:
    try:
        return load_settings({"server_url": server_url, "token": token})
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run(settings: Settings, request: AdminRequest) -> AdminResponse:
    try:
        return asyncio.run(admin_request(settings.server_url, request, token=settings.token))
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
    Console().print(workers_table(response.workers))


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
