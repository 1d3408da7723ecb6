"""The spinner shown while a reply has no token yet: its text, and that it goes away."""

from __future__ import annotations

import io

from rich.console import Console

from client import render
from client.screen import PlainScreen, RichScreen


def test_the_waiting_text_names_the_phase_and_the_seconds() -> None:
    assert render.waiting_text("reading_prompt", 12.4) == "reading the prompt… 12s"
    assert render.waiting_text("queued", 0.0).startswith("waiting for the character's")


def test_the_rich_spinner_shows_the_phase_and_is_gone_after_the_first_token() -> None:
    out = io.StringIO()
    screen = RichScreen(Console(file=out, force_terminal=True, width=80, color_system=None))
    screen.reply_waiting("reading_prompt", 3.0)
    screen.reply_waiting_end()
    screen.reply_begin("Mira")
    screen.reply_delta("Hi")
    screen.reply_end()
    shown = out.getvalue()
    assert "reading the prompt… 3s" in shown
    assert shown.rstrip().endswith("Mira: Hi")


def test_plain_output_shows_no_spinner() -> None:
    out = io.StringIO()
    screen = PlainScreen(out)
    screen.reply_waiting("reading_prompt", 3.0)
    screen.reply_waiting_end()
    assert out.getvalue() == ""
