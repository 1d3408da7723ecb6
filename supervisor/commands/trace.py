"""``greenroom trace ID [N]``: why turn N of a character went as it did (its stored trace).

Asks the running server (``trace_request`` after attaching, as a chat client does: a stopped
worker is started), or with ``--local`` reads the character in this process (no server may
host it meanwhile). Prints the ``/why`` view, or with ``--json`` one JSON object: the turn
(``turn_id``, ``turn_index``, ``user``, ``user_message``, ``created_at``) and its ``trace``
(layout: ``docs/engine.md``). Exit status 1 when the server cannot be reached or refuses.
"""

from __future__ import annotations

import asyncio
import json

import click

from client import render
from client.errors import GreenroomError
from client.interface import Character, TraceReport
from client.remote import CharacterClient
from runtime.settings import Settings, SettingsError, load_settings

CLIENT_NAME = "greenroom-trace"


@click.command("trace")
@click.argument("character_id")
@click.argument("turn", type=click.IntRange(min=1), required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the view.")
@click.option("--local", is_flag=True,
              help="Read the character in this process (no server may be hosting it).")
@click.option("--server-url", default=None,
              help="The gateway (default: GREENROOM_SERVER_URL, ws://localhost:8765).")
@click.option("--token", default=None, help="The server's token (default: GREENROOM_TOKEN).")
def trace(character_id: str, turn: int | None, as_json: bool, local: bool,
          server_url: str | None, token: str | None) -> None:
    """Why turn TURN (default: the newest) of CHARACTER_ID went as it did."""
    try:
        settings = load_settings({"server_url": server_url, "token": token})
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        report = asyncio.run(_read(settings, character_id, turn, local=local))
    except GreenroomError as exc:
        raise click.ClickException(render.error_text(exc)) from None
    if as_json:
        click.echo(json.dumps({
            "turn_id": report.turn_id, "turn_index": report.turn_index, "user": report.user,
            "user_message": report.user_message, "created_at": report.created_at,
            "trace": report.trace}, indent=2, ensure_ascii=False))
    else:
        click.echo(render.trace_plain(report))


async def _read(settings: Settings, character_id: str, turn: int | None, *,
                local: bool) -> TraceReport:
    character: Character
    if local:
        from client.chat_cli import local_character

        character = local_character(settings, None)
    else:
        remote = CharacterClient(settings.server_url, token=settings.gateway.token,
                                 client_name=CLIENT_NAME, connect_attempts=1,
                                 request_timeout_s=settings.gateway.request_timeout_s)
        character = remote
        try:
            await remote.open()
        except BaseException:
            await remote.close()
            raise
    try:
        await character.attach(character_id)
        return await character.trace(turn)
    finally:
        await character.close()
