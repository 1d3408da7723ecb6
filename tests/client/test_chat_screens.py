"""What a person sees: ``greenroom chat`` on real 80×24 and 140×45 terminals (a pty, read
through the pyte terminal emulator) against a real ``greenroom serve``.

* a long streamed reply wraps between words and loses nothing, stage direction included,
  and the toolbar under it keeps the mood;
* two people and a ``--vitals-only`` dashboard show the same mood intensity and the same
  changes after one person's turn — the server's numbers, not each client's arithmetic;
* the speaker label follows a character renamed in its file after ``greenroom reload``.

With ``GREENROOM_SCREEN_CAPTURES=DIR`` each test writes the screens it checked to DIR
(what docs/chat.md shows).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript
from tests.support.character_copies import with_bundled
from tests.support.cli_process import run_greenroom
from tests.support.running_server import RunningServer, ServerConfig, running_server
from tests.support.terminal_screen import TerminalScreen

pytestmark = pytest.mark.process

CHARACTER = "m-playful"
LABEL = 'Tobias "Toby" Okafor: '
SIZES = [(80, 24), (140, 45)]
LONG_REPLY = (
    "Oh, I walked down to the street food market this morning and heard someone playing "
    "Radiohead on a battered guitar by the fountain. *mentions the weather and the tide as "
    "if they were old friends* Then the rain came, and we all crowded under the awning, "
    "strangers sharing umbrellas and laughing about nothing in particular, until the sun "
    "found its way back through the clouds."
)
# Seven characters a token: most deltas end in the middle of a word.
LONG_TOKENS = [LONG_REPLY[at:at + 7] for at in range(0, len(LONG_REPLY), 7)]
CHANGE_RE = re.compile(r"mood (?:\w+ → )?(?P<mood>\w+) (?P<intensity>\d+%)")
TOOLBAR_RE = re.compile(r"^ (?P<mood>\w+) (?P<intensity>\d+%) │")
DELTA_RE = re.compile(r"\b(?P<level>[a-z]{3})[a-z]* ?(?:[\d.]+ )?(?P<delta>[↑↓][\d.]+)")


def capture(name: str, screen: TerminalScreen) -> None:
    """Keep the screen for the docs when ``GREENROOM_SCREEN_CAPTURES`` names a directory."""
    where = os.environ.get("GREENROOM_SCREEN_CAPTURES")
    if where:
        path = Path(where) / f"{name}-{screen.columns}x{screen.lines}.txt"
        path.write_text(screen.text().rstrip("\n") + "\n", encoding="utf-8")


def toolbar_shows(mood: str, intensity: str) -> Callable[[list[str]], bool]:
    return lambda rows: rows[-1].startswith(f" {mood} {intensity} │")


async def ready(screen: TerminalScreen) -> None:
    """Wait for the prompt's toolbar: typed lines then go to the prompt, not the tty."""
    await screen.until(lambda rows: TOOLBAR_RE.match(rows[-1]) is not None, "the toolbar")


def chat(server: RunningServer, data_dir: Path, size: tuple[int, int], *args: str
         ) -> TerminalScreen:
    columns, lines = size
    return TerminalScreen(["chat", "--server-url", server.url, "-c", CHARACTER, *args],
                          data_dir=data_dir, columns=columns, lines=lines)


def reply_rows(rows: list[str], label: str = LABEL) -> list[str]:
    """The rows of the last reply on screen: from its label to the line of what changed."""
    start = max(i for i, row in enumerate(rows) if row.startswith(label))
    end = next(i for i in range(start, len(rows)) if rows[i].lstrip().startswith("↳"))
    return rows[start:end]


def change_of(row: str) -> tuple[str, str, dict[str, str]]:
    """The mood, intensity and per-level changes a line of what changed shows."""
    found = CHANGE_RE.search(row)
    assert found is not None, row
    after_mood = row[found.end():]
    return (found["mood"], found["intensity"],
            {m["level"]: m["delta"] for m in DELTA_RE.finditer(after_mood)})


def last_change_row(rows: list[str], *, marker: str = "↳") -> str:
    return next(row for row in reversed(rows) if marker in row and "mood" in row)


@asynccontextmanager
async def scripted_server(data_dir: Path, characters_dir: Path | None = None
                          ) -> AsyncIterator[RunningServer]:
    extra = {} if characters_dir is None else {"characters_dir": characters_dir}
    config = ServerConfig(data_dir=data_dir / "server", characters=[CHARACTER], **extra)
    async with running_server(config) as server:
        yield server


async def test_a_long_reply_wraps_between_words_with_nothing_lost_and_the_toolbar_keeps_the_mood(
        tmp_path: Path) -> None:
    async with FakeOllamaServer(models=["llama3.2:latest"]) as llm:
        llm.script = StreamScript(tokens=LONG_TOKENS)
        config = ServerConfig(data_dir=tmp_path / "server", characters=[CHARACTER],
                              engine="ollama",
                              env={"OLLAMA_BASE_URL": llm.base_url, "OLLAMA_MODEL": "llama3.2"})
        async with running_server(config) as server:
            screens = [chat(server, tmp_path / f"client-{size[0]}", size, "--user", user)
                       for size, user in zip(SIZES, ("ann", "bob"), strict=True)]
            try:
                for screen in screens:
                    await ready(screen)
                for screen in screens:
                    if screen is screens[1]:  # ann's turn, shown above bob's prompt first
                        await screen.until(
                            lambda rows: any(row.endswith("clouds.") for row in rows),
                            "ann's reply on bob's screen")
                    screen.send("Tell me about your morning.")
                    rows = await screen.until(
                        lambda rows: any(r.startswith("↳ mood") for r in rows), "the reply")
                    mood, intensity, _ = change_of(last_change_row(rows))
                    rows = await screen.until(toolbar_shows(mood, intensity), "the new mood")
                    shown = reply_rows(rows)
                    assert all(len(row) <= screen.columns for row in shown)
                    assert " ".join(shown) == LABEL + LONG_REPLY  # no word split, none lost
                    assert len(shown) > 1
                    capture("long-reply", screen)
                # The 140-column screen showed ann's reply above its prompt first: whole too.
                rows = screens[1].rows
                first = next(i for i, row in enumerate(rows) if row.startswith(LABEL))
                end = next(i for i in range(first, len(rows)) if rows[i].startswith(("↳", ">")))
                assert " ".join(rows[first:end]) == LABEL + LONG_REPLY
                for screen in screens:
                    assert await screen.quit() == 0
            finally:
                for screen in screens:
                    screen.close()


async def test_two_people_and_a_dashboard_show_the_same_numbers_after_one_turn(
        tmp_path: Path) -> None:
    async with scripted_server(tmp_path) as server:
        ann = chat(server, tmp_path / "ann", SIZES[0], "--user", "ann")
        bob = chat(server, tmp_path / "bob", SIZES[1], "--user", "bob")
        board = chat(server, tmp_path / "board", SIZES[0], "--vitals-only")
        try:
            for screen in (ann, bob):
                await ready(screen)
            await board.shows("Ctrl+C to leave")
            bob.send("Hi Toby! I love hiking in the mountains.")
            await bob.until(lambda rows: any(r.startswith("↳ mood") for r in rows),
                            "bob's own turn")
            await ann.shows("↳ bob's turn: mood")
            await board.shows("↳ bob's turn: mood")
            ann.send("You are wonderful, thank you so much!")
            ann_rows = await ann.until(
                lambda rows: sum(r.startswith("↳ mood") for r in rows) == 1, "ann's own turn")
            own = change_of(last_change_row(ann_rows))
            bob_rows = await bob.shows("↳ ann's turn: mood")
            board_rows = await board.shows("↳ ann's turn: mood")
            # At 80 columns a line may count some levels (+2 more) that 140 columns show.
            for seen in (change_of(last_change_row(bob_rows)),
                         change_of(last_change_row(board_rows))):
                assert seen[:2] == own[:2]
                shared = own[2].keys() & seen[2].keys()
                assert shared
                assert {k: own[2][k] for k in shared} == {k: seen[2][k] for k in shared}
            # The intensity beside the mood: in each toolbar, and in the dashboard's panel.
            mood, intensity, _ = own
            await ann.until(toolbar_shows(mood, intensity), "ann's toolbar")
            await bob.until(toolbar_shows(mood, intensity), "bob's toolbar")
            assert f"mood: {mood} ({intensity})" in "\n".join(board_rows)
            # The dashboard lists the people talking, the latest first, and no one else.
            people = [row.strip(" │") for row in board_rows if " interaction" in row]
            assert [p.split(":")[0] for p in people] == ["with ann", "with bob"]
            for name, screen in (("ann", ann), ("bob", bob), ("dashboard", board)):
                capture(f"after-a-turn-{name}", screen)
            bob.send("/vitals")
            def panel_drawn(rows: list[str]) -> bool:
                titles = [i for i, row in enumerate(rows) if "vitals (last 2 turns)" in row]
                return bool(titles) and any(row.startswith("╰") and row.endswith("╯")
                                            for row in rows[titles[-1]:])

            panel = await bob.until(panel_drawn, "the /vitals panel")
            title = max(i for i, row in enumerate(panel) if "vitals (last 2 turns)" in row)
            dopamine = next(row for row in panel[title:] if row.startswith("│ dopamine"))
            assert re.search(r"[▁▂▃▄▅▆▇█]{2} *│$", dopamine), dopamine
            capture("vitals-panel", bob)
        finally:
            for screen in (ann, bob, board):
                screen.close()


async def test_the_speaker_label_follows_a_character_renamed_and_reloaded(
        tmp_path: Path) -> None:
    characters = tmp_path / "characters"
    with_bundled(characters, [CHARACTER])
    async with scripted_server(tmp_path, characters) as server:
        screen = chat(server, tmp_path / "client", SIZES[0], "--user", "ann")
        try:
            await ready(screen)
            screen.send("Hello!")
            await screen.until(lambda rows: any(r.startswith(LABEL) for r in rows), "a reply")
            path = characters / f"{CHARACTER}.yaml"
            path.write_text(path.read_text(encoding="utf-8").replace(
                'name: "Tobias \\"Toby\\" Okafor"', 'name: "Tobias \\"Tobs\\" Okafor"', 1),
                encoding="utf-8")
            code, out = await run_greenroom("reload", "--server-url", server.url,
                                            data_dir=tmp_path / "cli")
            assert code == 0, out
            await screen.shows(f"back — {CHARACTER} is ready")
            await ready(screen)
            screen.send("Hello again!")
            rows = await screen.until(
                lambda rows: any(r.startswith('Tobias "Tobs" Okafor: ') for r in rows)
                and sum(r.startswith("↳ mood") for r in rows) == 2, "a reply under the new name")
            assert sum(r.startswith(LABEL) for r in rows) == 1  # only the reply before
            capture("renamed", screen)
            assert await screen.quit() == 0
        finally:
            screen.close()
