"""``greenroom prompt ID``: the prompt a character's last turn sent the model, exactly as the
backend got it — or, with ``--message``, the one that message would send (a dry run).

Talks to the running server as a chat client does (``client.remote.CharacterClient``):
attach, one ``prompt_request``, close. Exit status: 0 with a prompt shown; 1 when there is
none kept (the reason is printed) or the request failed; 2 for usage errors (click's).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys

import click

from client import render
from client.errors import GreenroomError
from client.interface import PromptView
from client.remote import CharacterClient
from runtime.settings import Settings, SettingsError, load_settings

CLIENT_NAME = "greenroom-prompt"


@click.command("prompt")
@click.argument("character_id")
@click.option("-m", "--message", metavar="TEXT",
              help="Show the prompt TEXT would send now (a dry run: nothing is sent or kept).")
@click.option("--user", metavar="NAME",
              help="Whose last turn (default: the server's session user, `user`).")
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object: {"messages": [{"role", "content"}...], "sections": '
                   '[{"name", "tokens", ...}...], "budget": {...}, ...}.')
@click.option("--server-url", metavar="URL",
              help="The gateway [default: GREENROOM_SERVER_URL or ws://localhost:8765].")
@click.option("--token", metavar="TOKEN", help="The server's token [default: GREENROOM_TOKEN].")
def prompt(character_id: str, message: str | None, user: str | None, as_json: bool,
           server_url: str | None, token: str | None) -> None:
    """Show the prompt CHARACTER_ID's last turn sent the model: messages, options, the
    tokens of each section and the budget."""
    try:
        settings = load_settings({"server_url": server_url, "token": token})
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        view = asyncio.run(_ask(settings, character_id, message, user))
    except GreenroomError as exc:
        click.echo(render.error_text(exc), err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(view), indent=2, ensure_ascii=False))
    else:
        click.echo(render.prompt_plain(view))
    if not view.kept:
        sys.exit(1)


async def _ask(settings: Settings, character_id: str, message: str | None,
               user: str | None) -> PromptView:
    client = await CharacterClient.connect(
        settings.server_url, character_id=character_id, token=settings.gateway.token,
        user=user, client_name=CLIENT_NAME, connect_attempts=1,
        request_timeout_s=settings.gateway.request_timeout_s)
    try:
        return await client.prompt(message)
    finally:
        await client.close()
