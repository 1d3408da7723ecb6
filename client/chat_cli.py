"""``greenroom chat``: talk to a character on a server, or in this process.

Remote by default (``--server-url``, default from the settings: ws://localhost:8765). When no
server answers, it falls back to local mode with a visible notice, unless ``--no-fallback``
(then it exits with status 2 and says why); ``--local`` skips the server entirely.

Exit status: 0 success; 1 a turn or request failed (``--message``), or the character could
not be opened; 2 no server and no fallback, or a usage error.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

import click

from client import render
from client.dashboard import run_dashboard
from client.errors import ConnectionFailed, GreenroomError
from client.interface import Character, CharacterEntry
from client.remote import CharacterClient
from client.repl import run_repl
from client.screen import PlainScreen, RichScreen, Screen
from client.session import VITALS_MODES, ChatSession, VitalsMode
from runtime.settings import Settings, SettingsError, load_settings

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_NO_SERVER: Final = 2
CLIENT_NAME: Final = "greenroom-chat"


@dataclass(frozen=True, slots=True)
class ChatOptions:
    character_id: str | None
    local: bool
    fallback: bool
    vitals_only: bool
    vitals: VitalsMode
    user: str | None
    message: str | None
    tty: bool


@click.command("chat")
@click.option("-c", "--character", "character_id", metavar="ID",
              help="Character to talk to; without it you pick from the list.")
@click.option("--server-url", metavar="URL",
              help="Server WebSocket URL [default: GREENROOM_SERVER_URL or ws://localhost:8765].")
@click.option("--local", is_flag=True, help="Run the character in this process; no server.")
@click.option("--no-fallback", is_flag=True,
              help="If no server answers, exit with status 2 instead of going local.")
@click.option("--vitals-only", is_flag=True,
              help="Live vitals dashboard for the character (read-only); needs -c.")
@click.option("--vitals", "vitals", type=click.Choice(VITALS_MODES), default="line",
              show_default=True,
              help="After each reply: one line of what changed (line), the full panel when "
                   "the mood changed (panel), or nothing and no toolbar levels (off).")
@click.option("--no-vitals", is_flag=True, help="The seed's flag: --vitals off.")
@click.option("--user", metavar="NAME", help="Your name, for the character's relationship.")
@click.option("--token", metavar="TOKEN", help="Server token [default: GREENROOM_TOKEN].")
@click.option("-m", "--message", metavar="TEXT",
              help="Send one message, print the reply, exit (status 0 on success); needs -c.")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Data directory (local mode's databases, input history).")
@click.option("--characters-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Character files for local mode.")
@click.option("--engine", type=click.Choice(["scripted", "ollama", "openai"]),
              help="LLM backend for local mode [default: GREENROOM_ENGINE or scripted].")
def chat(
    character_id: str | None,
    server_url: str | None,
    local: bool,
    no_fallback: bool,
    vitals_only: bool,
    vitals: VitalsMode,
    no_vitals: bool,
    user: str | None,
    token: str | None,
    message: str | None,
    data_dir: Path | None,
    characters_dir: Path | None,
    engine: str | None,
) -> None:
    """Chat with a character (remote by default, local as a fallback)."""
    if vitals_only and (no_vitals or message is not None):
        raise click.UsageError("--vitals-only cannot be combined with --no-vitals or --message")
    if no_vitals and vitals != "line":
        raise click.UsageError("--no-vitals is --vitals off: give one of them")
    if local and no_fallback:
        raise click.UsageError("--local and --no-fallback contradict each other")
    if (vitals_only or message is not None) and character_id is None:
        raise click.UsageError("--vitals-only and --message need -c/--character ID")
    try:
        settings = load_settings({
            "server_url": server_url, "token": token, "data_dir": data_dir,
            "characters_dir": characters_dir, "engine": engine,
        })
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    options = ChatOptions(
        character_id=character_id,
        local=local,
        fallback=not no_fallback,
        vitals_only=vitals_only,
        vitals="off" if no_vitals else vitals,
        user=user,
        message=message,
        tty=sys.stdin.isatty() and sys.stdout.isatty(),
    )
    sys.exit(asyncio.run(run_chat(options, settings)))


async def run_chat(options: ChatOptions, settings: Settings) -> int:
    """The whole command once options are parsed; returns the exit status."""
    one_shot = options.message is not None
    # With --message stdout carries only the reply; every other line goes to stderr.
    screen: Screen = (
        PlainScreen(sys.stderr) if one_shot else RichScreen() if options.tty else PlainScreen()
    )
    character = await open_character(options, settings, screen)
    if character is None:
        return EXIT_NO_SERVER
    try:
        return await _run_mode(character, options, settings, screen)
    finally:
        await character.close()


async def open_character(
    options: ChatOptions, settings: Settings, screen: Screen
) -> Character | None:
    """A connected client, or a local character (forced, or as the fallback); ``None`` when
    no server answered and falling back is not allowed (the reason is already shown)."""
    if options.local:
        return local_character(settings, options.user)
    remote = CharacterClient(settings.server_url, token=settings.gateway.token, user=options.user,
                             client_name=CLIENT_NAME,
                             request_timeout_s=settings.gateway.request_timeout_s)
    announcer = asyncio.create_task(_announce_connecting(remote, screen))
    try:
        await remote.open()
    except ConnectionFailed as exc:
        await remote.close()
        if not options.fallback:
            screen.error(f"{render.error_text(exc)} (--no-fallback: not starting locally)")
            return None
        screen.notice(
            f"no server at {settings.server_url} — falling back to LOCAL mode "
            f"(engine {settings.engine.backend}, data in {settings.data_dir})"
        )
        return local_character(settings, options.user)
    except GreenroomError:
        await remote.close()
        raise
    finally:
        announcer.cancel()
        await asyncio.wait([announcer])
    return remote


def local_character(settings: Settings, user: str | None) -> Character:
    """Local mode: the worker's service in this process. The engine is imported here and
    only here, so a remote chat never loads it. Its log records (``turn_committed``, an
    unreachable LLM server) go to the stdlib ``logging`` module, warnings and worse on
    stderr: never into the conversation on stdout."""
    import logging

    import structlog

    from client.local import LocalCharacter

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.KeyValueRenderer(key_order=["level", "event"]),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.stdlib.LoggerFactory(),
    )
    return LocalCharacter(settings, user=user)


async def _announce_connecting(remote: CharacterClient, screen: Screen) -> None:
    """Show connection attempts after the first, while ``open()`` is retrying."""
    async for event in remote.events():
        notice = render.event_notice(event)
        if notice is not None:
            screen.notice(notice)


async def _run_mode(
    character: Character, options: ChatOptions, settings: Settings, screen: Screen
) -> int:
    try:
        character_id = options.character_id or await _pick_character(character, screen)
        if character_id is None:
            return EXIT_OK
        info = await character.attach(character_id)
    except GreenroomError as exc:
        screen.error(render.error_text(exc))
        return EXIT_FAILED
    if options.vitals_only:
        await run_dashboard(character, tty=options.tty)
        return EXIT_OK
    if options.message is not None:
        return await _one_turn(character, options.message, screen)
    # Subscribed with no await since the attach answered: no later event is missed (run_repl).
    events = character.events()
    session = ChatSession(character, screen, vitals=options.vitals)
    try:
        await session.attached(info)
    except GreenroomError as exc:
        screen.error(render.error_text(exc))
    await run_repl(session, events, tty=options.tty, data_dir=settings.data_dir)
    return EXIT_OK


async def _one_turn(character: Character, message: str, screen: Screen) -> int:
    out: TextIO = sys.stdout
    try:
        async for delta in character.chat_stream(message):
            out.write(delta)
            out.flush()
    except GreenroomError as exc:
        out.write("\n")
        screen.error(render.error_text(exc))
        return EXIT_FAILED
    out.write("\n")
    out.flush()
    return EXIT_OK


async def _pick_character(character: Character, screen: Screen) -> str | None:
    """List the characters and read a number or an id; ``None`` at end of input."""
    entries = await character.list_characters()
    if not entries:
        raise GreenroomError("character_not_found", "No characters are configured.")
    screen.text(render.characters_plain(entries))
    while True:
        screen.text("pick a character (number or id):")
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return None
        chosen = choose_character(entries, line)
        if chosen is not None:
            return chosen
        screen.error(f"no character {line.strip()!r}; type a number from 1 to {len(entries)}")


def choose_character(entries: list[CharacterEntry], answer: str) -> str | None:
    """The id ``answer`` names: a 1-based number from the list or an id; else ``None``."""
    text = answer.strip()
    if text.isdigit() and 1 <= int(text) <= len(entries):
        return entries[int(text) - 1].character_id
    return next((e.character_id for e in entries if e.character_id == text), None)
