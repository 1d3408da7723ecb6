"""``ChatSession``: what the chat does with each input and each event, written once over
``client.interface.Character`` so every command behaves the same remotely and locally.

It owns no input loop and no terminal: the REPL feeds it parsed lines and events, and it
writes through a ``Screen``. Ctrl+C is delivered as ``interrupt()``; during a reply that
cancels the generation (``Character.cancel``) and the chat goes on. What ``/set`` sets is
the session's (``options``): sent with each of its messages, never stored by the server.

After a turn — its own or another client's — it shows what the turn changed from the
numbers the server sent with it (the ``chat_response``, the ``vitals_event``), never from a
second request or a difference against what it saw before, so every client shows the same.
How (``vitals``): ``line`` one line of what moved; ``panel`` the full panel when the mood
changed, the line otherwise; ``off`` nothing, and no vitals in the toolbar.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final, Literal

import msgspec

from client import render
from client.commands import (
    CONFIRM_WORDS,
    Command,
    Invalid,
    Parsed,
    Say,
    parse_forget,
    parse_memories_filter,
    parse_setting,
    parse_turn,
)
from client.errors import Cancelled, GreenroomError
from client.interface import Character, CharacterEvent, ChatReply, JsonObject, TraceReport
from client.layout import toolbar
from client.reply_stream import ReplyStream
from client.screen import Screen
from client.vitals_view import (
    TurnChange,
    VitalsView,
    change_from_event,
    change_from_reply,
    level_history,
    view_from_event,
    view_from_reply,
    view_from_status,
)
from protocol.errors import ErrorCode
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from protocol.generation import GenerationSettings
from protocol.memories import MemoryEntry

VitalsMode = Literal["panel", "line", "off"]
VITALS_MODES: Final[tuple[VitalsMode, ...]] = ("panel", "line", "off")
NO_SETTINGS = GenerationSettings()
FORGET_SEARCH_LIMIT = 10
"""The most memories one ``/forget QUERY`` offers to delete."""


async def _never_confirm(prompt: str) -> str:
    """Without a way to ask (no input loop), nothing is confirmed."""
    return ""


class ChatSession:
    """One conversation front end. ``handle`` returns ``False`` when the user quits."""

    def __init__(self, character: Character, screen: Screen, *,
                 vitals: VitalsMode = "line") -> None:
        self.character = character
        self.screen = screen
        self.vitals_mode: VitalsMode = vitals
        self.view: VitalsView | None = None
        #: The turn change shown last: the same turn's ``vitals_event`` is not shown again.
        self._shown_change: tuple[object, ...] | None = None
        self.speaker = character.character_id or "character"
        self._interrupted = asyncio.Event()
        self._replying = False
        #: This user's reply is being written on the screen: another person's turn that
        #: arrives meanwhile is held (``_held_turns``) rather than printed into its line.
        self._on_the_line = False
        self._held_turns: list[TurnEvent] = []
        self._busy = False
        #: Starts the ``/keep`` of the reply the server last cut off; ``None``: nothing to keep.
        self._keep: Callable[[], ReplyStream] | None = None
        #: What ``/set`` set: sent with every message of this session.
        self.options = NO_SETTINGS
        #: Asks the person a question and returns the line they answer (the REPL sets it to
        #: its input; ``EOFError``/``KeyboardInterrupt`` count as "no").
        self.ask: Callable[[str], Awaitable[str]] = _never_confirm

    # -- inputs ---------------------------------------------------------------------------

    async def handle(self, parsed: Parsed) -> bool:
        """Act on one parsed input; errors are shown, never raised. ``False`` means quit."""
        if parsed is None:
            return True
        if isinstance(parsed, Invalid):
            self.screen.error(parsed.message)
            return True
        if isinstance(parsed, Say):
            await self.say(parsed.text)
            return True
        if parsed.name == "quit":
            return False
        # Events that arrive while a command runs only update the view: the command shows
        # the outcome itself, so the panel is not drawn twice.
        self._busy = True
        try:
            await self._run(parsed)
        except GreenroomError as exc:
            self.screen.error(render.error_text(exc))
        finally:
            self._busy = False
        return True

    async def say(self, text: str) -> bool:
        """One turn, streamed to the screen; ``True`` when a reply was committed."""
        character = self.character
        options = None if self.options == NO_SETTINGS else self.options
        return await self._stream(
            character.chat_stream(text, options=options),
            keep=lambda: character.chat_stream(text, keep_partial=True, options=options))

    def interrupt(self) -> None:
        """Ctrl+C: cancel the reply being generated (nothing happens between replies)."""
        if self._replying:
            self._interrupted.set()

    async def attached(self, info: JsonObject) -> None:
        """Announce the character just attached and show where it stands."""
        self.speaker = str(info.get("name") or self.character.character_id or "character")
        self.view = None
        where = "local" if self.character.mode == "local" else "remote"
        self.screen.notice(f"talking to {render.describe_info(info)} ({where}); /help for commands")
        if self.show_vitals:
            await self.refresh_vitals(show=True)
        await self._greet(None)

    async def _greet(self, index: int | None) -> None:
        """Show the greeting that opens this user's conversation (a card's first message),
        stored by the character when the conversation is empty (or ``index`` asks for
        another)."""
        greeted = await self.character.greet(index)
        if greeted.greeting is not None:
            self.screen.text(f"{self.speaker}: {greeted.greeting}")

    @property
    def show_vitals(self) -> bool:
        return self.vitals_mode != "off"

    # -- events ---------------------------------------------------------------------------

    async def on_event(self, event: CharacterEvent) -> None:
        """Show a notice for the event; keep the vitals view current, showing what someone
        else's turn changed. When the character's worker is ready again (a restart, a
        reload of its file) the character is read again: its name may have changed."""
        own_character = self.character.character_id
        if isinstance(event, VitalsEvent):
            if event.character_id == own_character:
                self._vitals_event(event)
            return
        if isinstance(event, TurnEvent | WorkerStateEvent) and event.character_id != own_character:
            return
        if isinstance(event, TurnEvent) and self._on_the_line:
            self._held_turns.append(event)  # shown once this user's own reply is complete
            return
        self._show_event(event)
        if isinstance(event, WorkerStateEvent) and event.state == "ready":
            try:
                await self.refresh_vitals(show=False)
            except GreenroomError as exc:
                self.screen.error(render.error_text(exc))

    def _show_event(self, event: CharacterEvent) -> None:
        notice = render.event_notice(event)
        if notice is not None:
            self.screen.notice(notice)
        if isinstance(event, TurnEvent):  # wrapped between words, as a reply is
            self.screen.reply_whole(self.speaker, event.response_text)

    def _vitals_event(self, event: VitalsEvent) -> None:
        before = self.view
        self.view = view_from_event(event, before)
        if not self.show_vitals or self._replying or self._busy:
            return
        change = change_from_event(event)
        if change is not None:
            self._show_change(change, own=False, mood_before=change.previous_mood)
        elif before is None or _levels_differ(before, self.view):
            if self.vitals_mode == "panel":
                self.screen.vitals(self.view)
            else:
                self.screen.notice(f"vitals changed ({event.cause or 'by the server'}): "
                                   f"mood {render.mood_text(self.view)}")

    def _show_change(self, change: TurnChange, *, own: bool, mood_before: str | None) -> None:
        """The line of ``change`` (the panel in ``panel`` mode when the mood changed), once
        per turn: the answer and the event of one turn carry the same numbers."""
        key = _change_key(change)
        if key == self._shown_change:
            return
        self._shown_change = key
        if (self.vitals_mode == "panel" and self.view is not None
                and mood_before is not None and mood_before != change.mood):
            self.screen.vitals(self.view)
        else:
            self.screen.turn_change(change, own=own)

    def toolbar(self, width: int) -> str:
        """The prompt's bottom toolbar for a terminal ``width`` columns wide."""
        where = f"{self.character.character_id or 'no character'} · {self.character.mode}"
        return toolbar(self.view if self.show_vitals else None, where, width)

    async def refresh_vitals(self, *, show: bool) -> None:
        """Read the character again (vitals, relationship, goals, its name)."""
        status = await self.character.status()
        self._read(status.summary, status.vitals)
        if show:
            self.screen.vitals(self.view or VitalsView())

    async def show_vitals_panel(self) -> None:
        """``/vitals``: the full panel, with each level's sparkline over the last turns."""
        status = await self.character.status(include_history=True,
                                             history_limit=render.SPARK_TURNS)
        self._read(status.summary, status.vitals)
        self.screen.vitals(self.view or VitalsView(), level_history(status.history or []))

    def _read(self, summary: JsonObject, vitals: JsonObject) -> None:
        self.view = view_from_status(summary, vitals, self.view)
        name = summary.get("name")
        if isinstance(name, str) and name:
            self.speaker = name

    # -- internals ------------------------------------------------------------------------

    async def _stream(self, stream: ReplyStream, *,
                      keep: Callable[[], ReplyStream] | None = None,
                      regenerate: bool = False) -> bool:
        """Show one reply as it streams (a spinner until its first token), then the turns
        of other people that arrived while it was written. A reply the server cut off
        (``llm_incomplete``) stays on screen, marked as such, and ``keep`` becomes what
        ``/keep`` runs."""
        try:
            return await self._stream_reply(stream, keep=keep, regenerate=regenerate)
        finally:
            # Only now: the turn's own vitals_event, arriving while the reply was being
            # finished, would otherwise be shown as someone's turn inside its last line.
            self._replying = self._on_the_line = False
            held, self._held_turns = self._held_turns, []
            for event in held:
                self._show_event(event)

    async def _stream_reply(self, stream: ReplyStream, *,
                            keep: Callable[[], ReplyStream] | None,
                            regenerate: bool) -> bool:
        self._interrupted.clear()
        self._keep = None
        self._replying = True
        screen = self.screen
        stream.on_phase = lambda p: (screen.reply_waiting(p.phase, p.elapsed_s)
                                     if p.phase != "streaming" else screen.reply_waiting_end())
        loop = asyncio.get_running_loop()
        watcher = asyncio.create_task(self._cancel_when_interrupted(), name="greenroom-ctrl-c")
        restore_sigint = _catch_sigint(loop, self.interrupt)
        # The speaker is shown with the first delta, so notices printed while the request
        # waits (reconnecting, restarting) never split "Name:" from its reply.
        begun = False
        ok = False
        try:
            async for delta in stream:
                if not begun:
                    screen.reply_waiting_end()
                    self.screen.reply_begin(self.speaker)
                    begun = self._on_the_line = True
                self.screen.reply_delta(delta)
            ok = True
        except Cancelled:
            screen.reply_waiting_end()
            if begun:
                self.screen.reply_end()
            self.screen.notice("stopped — reply cancelled (nothing was committed)")
        except GreenroomError as exc:
            screen.reply_waiting_end()
            partial = (exc.details or {}).get("partial_text")
            if isinstance(partial, str) and partial and not begun:
                self.screen.reply_begin(self.speaker)
                self.screen.reply_delta(partial)
                begun = True
            if begun:
                self.screen.reply_delta(" […]")
                self.screen.reply_end()
            self.screen.error(render.error_text(exc))
            if isinstance(partial, str) and partial:
                self._keep = keep
                if keep is not None:
                    self.screen.notice(render.partial_notice(regenerate))
        finally:
            screen.reply_waiting_end()
            restore_sigint()
            watcher.cancel()
            await asyncio.wait([watcher])
        if ok:
            if not begun:
                self.screen.reply_begin(self.speaker)
            self.screen.reply_end()
            if self.show_vitals:
                self._show_turn_vitals(stream.reply)
        return ok

    def _show_turn_vitals(self, reply: ChatReply | None) -> None:
        """What the turn changed, from what its answer carries (levels, changes, mood, the
        mood before); no second request. An answer without levels shows nothing."""
        if reply is None or not reply.vitals:
            return
        mood_before = self.view.mood if self.view is not None else None
        self.view = view_from_reply(reply, self.view)
        change = change_from_reply(reply)
        self._show_change(change, own=True, mood_before=change.previous_mood or mood_before)

    async def _cancel_when_interrupted(self) -> None:
        await self._interrupted.wait()
        try:
            await self.character.cancel()
        except GreenroomError as exc:
            self.screen.error(render.error_text(exc))

    async def _run(self, command: Command) -> None:
        character, screen = self.character, self.screen
        match command.name:
            case "help":
                screen.help()
            case "status":
                status = await character.status()
                self._read(status.summary, status.vitals)
                assert self.view is not None
                screen.text(render.summary_plain(status.summary))
                screen.vitals(self.view)
            case "vitals":
                await self.show_vitals_panel()
            case "mood":
                await self.refresh_vitals(show=False)
                assert self.view is not None
                screen.text(f"mood: {render.mood_text(self.view)}")
            case "goals":
                await self.refresh_vitals(show=False)
                assert self.view is not None
                goals = self.view.goals
                screen.text("\n".join(f"- {g}" for g in goals) if goals else "(no active goals)")
            case "memory":
                memories = await character.search_memory(command.argument or "")
                screen.text(render.memories_plain(memories))
            case "memories":
                chosen = parse_memories_filter(command.argument)
                if isinstance(chosen, Invalid):
                    screen.error(chosen.message)
                    return
                screen.text(render.memory_entries_plain(
                    await character.memories(user=chosen.user, kinds=chosen.kinds)))
            case "remember":
                added = await character.remember(command.argument or "")
                screen.notice(f"remembered as #{added.id}: {added.text}")
            case "forget":
                await self._forget(parse_forget(command.argument or ""))
            case "prompt":
                options = None if self.options == NO_SETTINGS else self.options
                screen.text(render.prompt_plain(
                    await character.prompt(command.argument, options=options)))
            case "save":
                name = await character.save(command.argument)
                screen.notice(f"saved snapshot {name!r}")
            case "load":
                info = await character.load(command.argument or "")
                screen.notice(f"loaded snapshot {command.argument!r}: {render.describe_info(info)}")
                await self._after_state_change()
            case "snapshots":
                screen.text(render.snapshots_plain(await character.snapshots()))
            case "reset":
                wipe = command.wipe_memories
                info = await character.reset(preserve_memories=not wipe)
                kept = "memories wiped" if wipe else "memories kept"
                screen.notice(f"reset ({kept}): {render.describe_info(info)}")
                await self._after_state_change()
            case "undo":
                info = await character.undo()
                screen.notice(f"undid your last turn: {render.describe_info(info)}")
                await self._after_state_change()
            case "regen":
                await self._stream(
                    character.regenerate_stream(), regenerate=True,
                    keep=lambda: character.regenerate_stream(keep_partial=True))
            case "keep":
                keep = self._keep
                if keep is None:
                    screen.error("nothing to keep: /keep saves a reply the server cut off, "
                                 "right after it happened")
                    return
                if await self._stream(keep()):
                    screen.notice("kept the cut-off reply as it is (marked incomplete)")
            case "alternatives":
                screen.text(render.alternatives_plain(await character.alternatives()))
            case "pick":
                index = _reply_index(command.argument)
                if index is None:
                    screen.error("usage: /pick N — N is a number from /alternatives")
                    return
                info = await character.select_alternative(index)
                screen.notice(f"reply {index} is now the current one: "
                              f"{render.describe_info(info)}")
                await self._after_state_change()
            case "greeting":
                index = _reply_index(command.argument)
                if index is None:
                    screen.error("usage: /greeting N — 0 is the card's first message, 1… its "
                                 "alternate greetings")
                    return
                await self._greet(index)
            case "why":
                turn = parse_turn(command.argument)
                if isinstance(turn, Invalid):
                    screen.error(turn.message)
                    return
                screen.text(render.trace_plain(await character.trace(turn)))
            case "set":
                change = parse_setting(command.argument or "")
                if isinstance(change, Invalid):
                    screen.error(change.message)
                    return
                self.options = msgspec.structs.replace(self.options,
                                                       **{change.name: change.value})
                screen.notice(f"{change.name} set to {change.value} for this session"
                              if change.value is not None
                              else f"{change.name} back to the character's own")
            case "show":
                screen.text(render.settings_plain(self.options, await self._newest_trace()))
            case "export":
                if command.argument:
                    target = await _write_export(Path(command.argument), character.export_text())
                    screen.notice(f"exported to {target}")
                else:
                    screen.text("".join([piece async for piece in character.export_text()]))
            case "characters":
                entries = await character.list_characters()
                screen.text(render.characters_plain(entries, character.character_id))
            case "switch":
                info = await character.attach(command.argument or "")
                await self.attached(info)
            case "clear":
                screen.clear()
            case "quit":
                pass

    async def _forget(self, target: int | str) -> None:
        """``/forget``: show what would go, ask, and delete only after a yes."""
        character, screen = self.character, self.screen
        doomed = await self._memories_to_forget(target)
        if not doomed:
            screen.error(f"no memory #{target}; /memories lists them" if isinstance(target, int)
                         else f"no memory matches {target!r}; nothing to forget")
            return
        screen.text(render.memory_entries_plain(doomed))
        which = "this memory" if len(doomed) == 1 else f"these {len(doomed)} memories"
        try:
            answer = await self.ask(f"Forget {which}? [y/N] ")
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip().lower() not in CONFIRM_WORDS:
            screen.notice("kept: nothing was forgotten")
            return
        for memory in doomed:
            await character.forget(memory.id)
        screen.notice(f"forgot {', '.join(f'#{m.id}' for m in doomed)}")

    async def _memories_to_forget(self, target: int | str) -> list[MemoryEntry]:
        """Memory ``target`` (an id), or the memories whose words match query ``target``."""
        if isinstance(target, int):
            found = await self.character.memory(target)
            return [] if found is None else [found]
        hits = await self.character.search_memory(target, FORGET_SEARCH_LIMIT)
        matching = [h["id"] for h in hits
                    if isinstance(h.get("id"), int) and (h.get("scores") or {}).get("relevance")]
        entries = [await self.character.memory(memory_id) for memory_id in matching]
        return [entry for entry in entries if entry is not None]

    async def _newest_trace(self) -> TraceReport | None:
        """The newest turn's trace, ``None`` when the character has no turn yet."""
        try:
            return await self.character.trace()
        except GreenroomError as exc:
            if exc.code == ErrorCode.BAD_REQUEST:  # no turn yet
                return None
            raise

    async def _after_state_change(self) -> None:
        if self.show_vitals:
            await self.refresh_vitals(show=True)


_WRITE_BATCH_CHARS = 1 << 20


def _reply_index(argument: str | None) -> int | None:
    text = (argument or "").strip()
    return int(text) if text.isdigit() else None


async def _write_export(path: Path, pieces: AsyncIterator[str]) -> Path:
    """Write the export text to ``path`` as it arrives (memory: about one write batch). It
    goes to ``<path>.partial`` first and is renamed when complete, so ``path`` never holds a
    cut export; a failed export removes the partial file."""
    target = await asyncio.to_thread(path.expanduser)
    partial = target.with_name(f"{target.name}.partial")
    out = await asyncio.to_thread(partial.open, "w", encoding="utf-8")
    try:
        with out:
            batch: list[str] = []
            size = 0
            async for piece in pieces:
                batch.append(piece)
                size += len(piece)
                if size >= _WRITE_BATCH_CHARS:
                    await asyncio.to_thread(out.write, "".join(batch))
                    batch, size = [], 0
            await asyncio.to_thread(out.write, "".join(batch))
        await asyncio.to_thread(partial.replace, target)
    except BaseException:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
        raise
    return target


def _change_key(change: TurnChange) -> tuple[object, ...]:
    """What makes two changes the same turn's: who, the moods and the deltas (the levels
    after are the same moment, maybe rounded differently)."""
    return (change.user, change.mood, change.previous_mood, change.mood_intensity,
            tuple((level.name, level.change) for level in change.levels))


def _levels_differ(before: VitalsView, after: VitalsView, tolerance: float = 0.05) -> bool:
    old = {level.name: level.value for level in before.levels}
    return any(abs(old.get(level.name, -1.0) - level.value) > tolerance for level in after.levels)


def _catch_sigint(
    loop: asyncio.AbstractEventLoop, handler: Callable[[], None]
) -> Callable[[], None]:
    """Route SIGINT to ``handler`` until the returned function is called (main thread only;
    elsewhere Ctrl+C keeps its default behaviour)."""
    try:
        loop.add_signal_handler(signal.SIGINT, handler)
    except (NotImplementedError, RuntimeError, ValueError):
        return lambda: None

    def restore() -> None:
        loop.remove_signal_handler(signal.SIGINT)

    return restore
