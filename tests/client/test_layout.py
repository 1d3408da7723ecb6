"""The one-line views laid out for a width (toolbar, what a turn changed), sparklines and
word wrapping while a reply streams: pure functions, checked at the widths people use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from client.gauges import sparkline
from client.layout import change_line, fit, toolbar
from client.vitals_view import NEUROCHEMICALS, Level, TurnChange, VitalsView
from client.word_wrap import Erase, Piece, StreamWrap

VALUES = (70.2, 71.3, 74.8, 67.9, 32.2, 39.4)
CHANGES = (6.2, 7.3, 0.1, -0.2, -3.8, 3.4)
VIEW = VitalsView(
    character="Toby",
    levels=tuple(Level(name, value, 60.0, change)
                 for name, value, change in zip(NEUROCHEMICALS, VALUES, CHANGES, strict=True)),
    mood="content", mood_intensity=0.31,
    goals=("Make the user laugh at least once in every conversation", "Open a food truck"),
)
WHERE = "m-playful · remote"
CHANGE = TurnChange(user="bob", mood="content", mood_intensity=0.31, previous_mood="calm",
                    levels=VIEW.levels)


@pytest.mark.parametrize("width", [40, 60, 80, 100, 140, 200])
def test_the_toolbar_fits_the_width_and_starts_with_the_mood(width: int) -> None:
    line = toolbar(VIEW, WHERE, width)
    assert cell_len(line) <= width
    assert line.startswith(" content 31%")


def test_at_80_columns_the_toolbar_keeps_every_level_readable() -> None:
    assert toolbar(VIEW, WHERE, 76) == (
        " content 31% │ dop 70↑ ser 71↑ oxy 75 end 68 cor 32↓ adr 39↑")
    assert toolbar(VIEW, WHERE, 80) == (
        " content 31% │ dop 70↑ ser 71↑ oxy 75 end 68 cor 32↓ adr 39↑ │ goals: Make the…")
    assert toolbar(VIEW, WHERE, 90) == (
        " content 31% │ dop 70↑ ser 71↑ oxy 75 end 68 cor 32↓ adr 39↑ │ m-playful · remote")


def test_narrow_toolbars_compact_the_levels_before_losing_them() -> None:
    assert toolbar(VIEW, WHERE, 50) == " content 31% │ d70↑ s71↑ o75 e68 c32↓ a39↑"
    assert toolbar(VIEW, WHERE, 30) == " content 31% │ d70↑ s71↑ o75…"


def test_wide_toolbars_add_the_goals_cut_with_an_ellipsis() -> None:
    line = toolbar(VIEW, WHERE, 140)
    assert "│ goals: Make the user laugh" in line
    assert line.endswith("…") and cell_len(line) == 140
    assert toolbar(VIEW, WHERE, 300).endswith("Open a food truck")


def test_without_vitals_the_toolbar_says_where() -> None:
    assert toolbar(None, WHERE, 80) == " m-playful · remote"


def test_the_change_line_shows_the_mood_change_and_only_the_levels_that_moved() -> None:
    line = change_line(CHANGE, 140, own=True)
    assert line == ("↳ mood calm → content 31% · dopamine 70.2 ↑6.2 · serotonin 71.3 ↑7.3 · "
                    "cortisol 32.2 ↓3.8 · adrenaline 39.4 ↑3.4")
    assert "oxytocin" not in line and "endorphins" not in line


def test_another_persons_change_is_headed_by_their_name() -> None:
    assert change_line(CHANGE, 140, own=False).startswith("↳ bob's turn: mood calm → content")


@pytest.mark.parametrize("width", [30, 40, 50, 60, 80])
def test_the_change_line_compacts_to_the_width_and_keeps_the_mood(width: int) -> None:
    line = change_line(CHANGE, width, own=False)
    assert cell_len(line) <= width
    assert "content" in line


def test_narrower_change_lines_shorten_names_then_drop_values() -> None:
    assert change_line(CHANGE, 90) == ("↳ mood calm → content 31% · dop 70 ↑6.2 · ser 71 ↑7.3 · "
                                       "cor 32 ↓3.8 · adr 39 ↑3.4")
    assert change_line(CHANGE, 80) == ("↳ mood calm → content 31% · dop ↑6.2 · ser ↑7.3 · "
                                       "cor ↓3.8 · adr ↑3.4")


def test_levels_that_do_not_fit_are_counted() -> None:
    assert change_line(CHANGE, 48) == "↳ mood calm → content 31% · dop↑6.2 +3 more"


def test_a_turn_that_moved_nothing_says_so() -> None:
    still = TurnChange(user=None, mood="calm", mood_intensity=0.0, previous_mood="calm",
                       levels=(Level("dopamine", 50.0, None, 0.1),))
    assert change_line(still, 80) == "↳ mood calm 0% · no level moved"


def test_fit_cuts_with_an_ellipsis_only_when_needed() -> None:
    assert fit("goals: a; b", 20) == "goals: a; b"
    assert fit("goals: abcdef", 10) == "goals: ab…"


def test_sparklines_show_the_trend_of_small_changes() -> None:
    assert sparkline([64.0, 66.0, 69.4]) == "▁▄█"
    assert len(set(sparkline([50.0, 50.0, 50.0]))) == 1
    low, high = sorted(set(sparkline([50.0, 50.2, 50.0])))  # a wiggle: one step at most
    assert ord(high) - ord(low) == 1
    assert sparkline([]) == ""


def _screen(pieces: list[Piece], column: int) -> str:
    """What a terminal shows for ``pieces`` (a line starting at ``column``), trailing
    spaces removed; an ``Erase`` may only take back cells of the current line."""
    lines = [" " * column]
    for piece in pieces:
        if isinstance(piece, Erase):
            assert 0 < piece.cells <= cell_len(lines[-1])
            line, taken = lines[-1], 0
            while taken < piece.cells:
                taken += cell_len(line[-1])
                line = line[:-1]
            assert taken == piece.cells  # never half of a wide character
            lines[-1] = line
            continue
        first, *rest = piece.split("\n")
        lines[-1] += first
        lines += rest
    return "\n".join(line.rstrip() for line in lines)[column:]


def _wrap(deltas: list[str], width: int, column: int = 0, *,
          shown: list[str] | None = None) -> str:
    wrap = StreamWrap(column)
    pieces: list[Piece] = []
    for delta in deltas:
        pieces += wrap.feed(delta, width)
        if shown is not None:
            shown.append(_screen(pieces, column))
    return _screen(pieces + wrap.finish(width), column)


def test_a_streamed_reply_wraps_between_words() -> None:
    text = _wrap(["I went to the st", "reet food market and heard Radiohe", "ad play."], 20)
    assert text.splitlines() == ["I went to the street", "food market and", "heard Radiohead",
                                 "play."]


def test_a_word_is_shown_as_it_streams_and_moved_when_it_outgrows_the_line() -> None:
    shown: list[str] = []
    text = _wrap(["Once up", "on a ti", "mekeeper"], 16, shown=shown)
    assert shown[0] == "Once up"  # a model pausing mid-word still shows what it sent
    assert shown[1] == "Once upon a ti"
    assert text == "Once upon a\ntimekeeper"


def test_a_whole_text_is_placed_without_taking_anything_back() -> None:
    pieces = StreamWrap(6).feed("We all crowded under the awning together.", 20)
    assert not any(isinstance(piece, Erase) for piece in pieces)


def test_the_label_counts_on_the_first_line() -> None:
    assert _wrap(["one two three"], 12, column=6).splitlines() == ["one", "two three"]


def test_a_word_wider_than_the_line_is_broken_not_dropped() -> None:
    assert _wrap(["a ", "x" * 25], 10).splitlines() == ["a", "x" * 10, "x" * 10, "x" * 5]


def test_newlines_in_the_reply_are_kept() -> None:
    assert _wrap(["first line\n\n*smiles*"], 40) == "first line\n\n*smiles*"


words = st.text(alphabet=st.sampled_from("abcdefghij*é漢"), min_size=1, max_size=14)


@given(st.lists(words, min_size=1, max_size=40), st.integers(8, 90),
       st.lists(st.integers(1, 7), min_size=1, max_size=10))
def test_wrapping_never_loses_a_word_nor_splits_one_that_fits(
        reply_words: list[str], width: int, cuts: list[int]) -> None:
    reply = " ".join(reply_words)
    deltas, at = [], 0
    for size in cuts * 50:
        if at >= len(reply):
            break
        deltas.append(reply[at:at + size])
        at += size
    deltas.append(reply[at:])
    lines = _wrap(deltas, width).split("\n")
    assert all(cell_len(line) <= width for line in lines)
    if all(cell_len(word) <= width for word in reply_words):
        assert " ".join(lines) == reply
    else:
        assert "".join(lines).replace(" ", "") == reply.replace(" ", "")
