"""``--vitals-only``: a live vitals dashboard for one character.

Follows the character's events (vitals changes from anyone's turns, worker and connection
states) and re-reads the status every ``refresh_s`` seconds so decay toward baseline shows
too, and after each turn so the relationships are current. It only reads: it attaches like
any client (which never resets a character) and sends no turn. It shows the relationships
of the people actually talking to the character, the most recent first — never its own
session's user, who never speaks — and the line of what the last turn changed, with the
numbers the server sent with it (the same every chat client shows). Ends on Ctrl+C or
SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from typing import Final

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from client import render
from client.errors import GreenroomError
from client.interface import Character, CharacterEvent, JsonObject
from client.layout import change_line
from client.screen import PlainScreen
from client.vitals_view import (
    TurnChange,
    VitalsView,
    change_from_event,
    view_from_event,
    view_from_status,
)
from protocol.events import TurnEvent, VitalsEvent

DEFAULT_REFRESH_S: Final = 5.0


class Dashboard:
    """The dashboard's state and what it shows; ``render_live`` / ``plain`` are pure reads."""

    def __init__(self, character_id: str) -> None:
        self.character_id = character_id
        self.view: VitalsView | None = None
        self.last_change: TurnChange | None = None
        self.notices: list[str] = []

    def apply_status(self, summary: JsonObject, vitals: JsonObject) -> bool:
        """Take a fresh status; ``True`` when something shown changed."""
        view = view_from_status(summary, vitals, self.view)
        # The status's own relationship is the dashboard session's user, who never talks.
        return self._replace(dataclasses.replace(view, relationship=None))

    def apply_event(self, event: CharacterEvent) -> bool:
        """Take an event; ``True`` when something visible changed."""
        if isinstance(event, VitalsEvent):
            if event.character_id != self.character_id:
                return False
            change = change_from_event(event)
            if change is not None:
                self.last_change = change
            return self._replace(view_from_event(event, self.view)) or change is not None
        if isinstance(event, TurnEvent) and event.character_id != self.character_id:
            return False
        notice = render.event_notice(event)
        if notice is None:
            return False
        self.notices = [*self.notices[-4:], notice]
        return True

    def render_live(self, width: int) -> Group:
        parts: list[RenderableType] = []
        if self.view is not None:
            parts.append(render.vitals_panel(self.view))
        if self.last_change is not None:
            parts.append(Text(change_line(self.last_change, width, own=False)))
        parts.extend(Text(f"• {notice}", style="yellow") for notice in self.notices)
        parts.append(Text("Ctrl+C to leave · read-only: this dashboard never changes the "
                          "character", style="dim"))
        return Group(*parts)

    def plain(self) -> str:
        """The plain-text dashboard (a pipe): the panel and the last turn's line."""
        lines = [render.vitals_plain(self.view)] if self.view is not None else []
        if self.last_change is not None:
            lines.append(render.turn_change_plain(self.last_change, own=False))
        return "\n".join(lines)

    def _replace(self, view: VitalsView) -> bool:
        before = self.view
        self.view = view
        if before is None:
            return True
        old = {level.name: round(level.value, 1) for level in before.levels}
        return any(old.get(level.name) != round(level.value, 1) for level in view.levels) or (
            before.mood, before.mood_intensity, before.relationships
        ) != (view.mood, view.mood_intensity, view.relationships)


async def run_dashboard(
    character: Character, *, tty: bool, refresh_s: float = DEFAULT_REFRESH_S
) -> None:
    """Show the attached character's vitals until Ctrl+C or SIGTERM."""
    assert character.character_id is not None
    board = Dashboard(character.character_id)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    plain = PlainScreen()
    console = Console(highlight=False)
    live = Live(console=console, auto_refresh=False) if tty else None

    def show(changed: bool) -> None:
        if not changed:
            return
        if live is not None:
            live.update(board.render_live(console.width), refresh=True)
        elif board.view is not None:
            plain.text(board.plain())

    async def follow() -> None:
        async for event in character.events():
            changed = board.apply_event(event)
            if live is None and changed and not isinstance(event, VitalsEvent):
                plain.notice(board.notices[-1])
            else:
                show(changed)
            if isinstance(event, TurnEvent) and event.character_id == board.character_id:
                await poll()  # the speaker's relationship moved

    async def poll() -> None:
        try:
            status = await character.status()
        except GreenroomError as exc:
            if live is None:
                plain.error(render.error_text(exc))
            return
        show(board.apply_status(status.summary, status.vitals))

    follower = asyncio.create_task(follow(), name="greenroom-dashboard-events")
    try:
        with live if live is not None else contextlib.nullcontext():
            await poll()
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), refresh_s)
                if not stop.is_set():
                    await poll()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        follower.cancel()
        await asyncio.wait([follower])
