"""Offline, an imported card speaks in its own words: its example messages, its personality,
its scenario — not the composer's stock lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.card_import import import_card
from schemas.loader import load_character
from schemas.model import Character
from tests.characters.cards_factory import card_text, v2_card, write_png
from worker.backends.base import ReplyContext
from worker.engine.appraisal import appraise
from worker.scripted_replies.card_voice import card_voice
from worker.scripted_replies.compose import compose_reply

REAL_CARDS = Path(__file__).resolve().parents[1] / "data" / "cards"
MESSAGES = ("Hi there!", "Where am I?", "What do you like to do?",
            "I'm feeling a bit lost today.", "Tell me about yourself.", "That sounds nice.",
            "Can you help me with my homework?", "ok")


def reply(c: Character, message: str, turn: int = 2) -> str:
    a = appraise(message)
    return compose_reply(ReplyContext(c, "Ann", message, a.intent, "neutral", 0.2,
                                      a.stimulus.valence, turn))


def imported(name: str, tmp_path: Path) -> Character:
    return import_card(REAL_CARDS / name, tmp_path, force=True).character


@pytest.mark.parametrize("name", ["default_Seraphina.png", "default_FluxTheCat.png",
                                  "content_Assistant_CapoGPT.png",
                                  "contest_Assistant_Gloria.png", "contest_Assistant_Amy.png",
                                  "contest_Assistant_Sakana.png"])
def test_a_real_card_answers_offline_in_varied_words_of_its_own(name: str,
                                                               tmp_path: Path) -> None:
    c = imported(name, tmp_path)
    voice = card_voice(c)
    assert voice is not None
    replies = [reply(c, m, turn) for turn, m in enumerate(MESSAGES, start=2)]
    assert len(set(replies)) >= 6, replies
    assert not any("here's my take" in r for r in replies)
    assert not any("{{" in r or "<USER>" in r for r in replies)
    own = [*voice.lines, *voice.traits, voice.scenario or "", voice.description or ""]
    drawn = [r for r in replies if any(piece.replace("{{user}}", "Ann")[:25] in r
                                        or piece.lower() in r.lower() for piece in own
                                        if piece)]
    assert len(drawn) >= 6, replies


def test_who_are_you_is_answered_from_the_cards_personality(tmp_path: Path) -> None:
    seraphina = imported("default_Seraphina.png", tmp_path)
    text = reply(seraphina, "Tell me about yourself.")
    assert text.startswith("I'm Seraphina — ")
    assert any(trait in text for trait in ("caring", "protective", "compassionate", "gentle",
                                           "worried", "apologetic", "healing", "nurturing"))


def test_where_am_i_is_answered_from_the_scenario(tmp_path: Path) -> None:
    flux = imported("default_FluxTheCat.png", tmp_path)
    assert reply(flux, "Where am I?").startswith(
        "Flux the Cat is the new cat and owned by Ann.")


def test_lines_come_from_the_example_messages_closest_to_the_message(tmp_path: Path) -> None:
    card = v2_card()
    card["data"]["mes_example"] = (
        "<START>\n{{user}}: Any work?\n{{char}}: Depends who's asking about the harbour.\n"
        "{{user}}: The ledger?\n{{char}}: *Slides the ledger under the counter.* What ledger?")
    c = import_card(write_png(tmp_path / "m.png", {"chara": card_text(card)}),
                    tmp_path / "chars").character
    assert "*Slides the ledger under the counter.*" in reply(c, "Show me the ledger, please.")
    assert "Depends who's asking about the harbour." in reply(c, "Is the harbour busy?")


def test_a_greenroom_character_keeps_the_composers_own_voice() -> None:
    bundled = Path(__file__).resolve().parents[2] / "schemas" / "characters"
    assert card_voice(load_character("zen-master", bundled).character) is None
