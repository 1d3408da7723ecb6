"""The properties of the scripted replies: they answer what was said, in the character's
voice, moved by mood, memory and the requested variant (the exact wording is pinned by
``test_scripted_replies_golden``)."""

import os
import re
import subprocess
import sys
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.loader import available_ids, load_character
from schemas.model import Character
from tests.engine.characters import character, full_character
from worker.backends.base import ReplyContext
from worker.scripted_replies.compose import compose_reply

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = [load_character(i, ROOT / "schemas" / "characters").character
           for i in available_ids(ROOT / "schemas" / "characters")]
INTENTS = ["greeting", "farewell", "thanks", "apology", "hostile", "joke", "compliment",
           "question", "smalltalk"]
MOODS = ["neutral", "happy", "excited", "content", "calm", "anxious", "stressed", "sad",
         "irritated", "tired"]
PLAYFUL = character(
    name="Pip", communication_style={"formality_level": "casual",
                                     "quirks": ["Uses emojis when excited, especially 🎩"]})


def context(intent: str, *, mood: str = "neutral", intensity: float = 0.2,
            message: str = "Tell me about lighthouses", turn_index: int = 3,
            memories: tuple[str, ...] = (), user_name: str = "sam", variant: int = 0,
            who: Character | None = None) -> ReplyContext:
    return ReplyContext(character=who or full_character(), user_name=user_name,
                        user_message=message, intent=intent, mood=mood, mood_intensity=intensity,
                        valence=0.0, turn_index=turn_index, memory_snippets=memories,
                        variant=variant)


def replies(ctx: ReplyContext, variants: int = 4) -> list[str]:
    """The replies to ``ctx`` for the first ``variants`` variants (every choice cycles)."""
    return [compose_reply(replace(ctx, variant=v)) for v in range(variants)]


# ------------------------------------------------------------------------ what was said
@pytest.mark.parametrize(("message", "intent", "reflected"), [
    ("Hey Toby! I'm Sam and I love jazz.", "greeting", "jazz"),
    ("I work as a nurse", "smalltalk", "a nurse"),
    ("I live in Porto these days", "smalltalk", "Porto"),
    ("I really hate my commute", "smalltalk", "your commute"),
    ("I just finished my thesis!", "smalltalk", "your thesis"),
    ("I'm so tired today", "smalltalk", "tired today"),
    ("What do you think about pineapple pizza?", "question", "pineapple pizza"),
    ("The lighthouse keeper waved at me", "smalltalk", "lighthouse keeper"),
])
def test_the_users_topic_is_reflected_with_pronouns_flipped(
        message: str, intent: str, reflected: str) -> None:
    for reply in replies(context(intent, message=message)):
        assert reflected.lower() in reply.lower(), reply


@pytest.mark.parametrize(("message", "intent", "reflected"), [
    ("I love jazz", "smalltalk", "jazz"),
    ("What is your favourite jazz", "question", "jazz"),
    ("Do you like jazz", "question", "jazz"),
])
def test_a_topic_followed_by_a_long_run_of_spaces_is_still_reflected(
        message: str, intent: str, reflected: str) -> None:
    # The clause-end lookahead once rescanned the run at every character: quadratic, minutes
    # for a run this long (pytest's timeout fails it), linear now.
    long_message = message + " " * 60_000 + ("?" if intent == "question" else ".")
    assert reflected in compose_reply(context(intent, message=long_message)).lower()


def test_a_statement_touching_the_characters_interests_is_taken_up() -> None:
    binder = character(demographics={"interests": ["bookbinding", "eels"]})
    for reply in replies(context("smalltalk", message="I love bookbinding", who=binder)):
        assert reply.lower().count("bookbinding") >= 2, reply  # reflected, then claimed


def test_a_terse_character_reacts_without_the_aside_about_itself() -> None:
    for reply in replies(context("smalltalk", message="I love bookbinding")):
        assert reply.lower().count("bookbinding") == 1, reply  # full_character is terse


@pytest.mark.parametrize(("user_name", "message", "memories", "name"), [
    ("user", "Hey Toby! I'm Sam and I love jazz. Any tricks for me?", (), "Sam"),
    ("user", "Hello, my name is priya", (), "Priya"),
    ("user", "Hi there, call me Jo", (), "Jo"),
    ("sam", "Hello!", (), "sam"),
    ("user", "Hello!", ("User's name is Ada.",), "Ada"),
    ("sam", "Hi! I'm Samantha, actually.", (), "Samantha"),
])
def test_the_user_is_greeted_by_the_name_they_gave(
        user_name: str, message: str, memories: tuple[str, ...], name: str) -> None:
    for who in (full_character(), PLAYFUL):
        ctx = context("greeting", message=message, user_name=user_name, memories=memories,
                      who=who)
        for reply in replies(ctx, 3):
            assert re.search(rf"\b{name}\b", reply), reply


@pytest.mark.parametrize("who", BUNDLED, ids=[c.id for c in BUNDLED])
def test_a_user_without_a_name_is_never_called_user(who: Character) -> None:
    for intent in INTENTS:
        for mood in ("happy", "tired"):
            ctx = context(intent, mood=mood, intensity=0.7, user_name="user", who=who,
                          message="Hello, what do you think about rain?")
            for reply in replies(ctx, 2):
                assert not re.search(r"\buser\b", reply, re.IGNORECASE), reply


def test_a_name_given_a_few_turns_ago_is_still_used() -> None:
    earlier = ("Hi, I'm Sam!", "I love jazz")
    ctx = replace(context("greeting", user_name="user", message="Hello again"),
                  earlier_user_messages=earlier)
    assert all("Sam" in r for r in replies(ctx, 3))
    renamed = replace(ctx, earlier_user_messages=(*earlier, "Actually, call me Jo"))
    assert all("Jo" in r and "Sam" not in r for r in replies(renamed, 3))


def test_capitalised_words_after_im_that_are_not_names_are_not_taken_for_names() -> None:
    reply = compose_reply(context("greeting", message="Hi! I'm English, by the way",
                                  user_name="user"))
    assert "English" not in reply.split(".")[0]


@settings(max_examples=150, deadline=None)
@given(message=st.text(max_size=120), user_name=st.text(max_size=12),
       intent=st.sampled_from(INTENTS), mood=st.sampled_from(MOODS),
       valence=st.floats(-1, 1), memory=st.text(max_size=60))
def test_any_message_gets_a_non_empty_reply(message: str, user_name: str, intent: str,
                                            mood: str, valence: float, memory: str) -> None:
    ctx = replace(context(intent, message=message, user_name=user_name, mood=mood,
                          intensity=0.7, memories=(memory,)), valence=valence)
    assert compose_reply(ctx).strip()
    assert compose_reply(replace(ctx, user_message=f"I love {{x}} and {message}")).strip()


# ---------------------------------------------------------------------------- questions
def test_a_question_in_the_specialty_draws_on_it() -> None:
    ctx = context("question", message="How should I store an old manuscript?")
    for reply in replies(ctx, 3):
        assert "manuscript conservation" in reply, reply


def test_a_question_outside_the_specialty_is_answered_honestly_about_the_topic() -> None:
    ctx = context("question", message="Why does the moon glow at night?")
    for reply in replies(ctx, 3):
        assert "moon glow" in reply.lower(), reply


def test_asking_what_the_character_does_answers_with_their_occupation() -> None:
    reply = compose_reply(context("question", message="So what do you do for a living?"))
    assert "archivist" in reply.lower()


def test_how_are_you_is_answered_through_the_mood() -> None:
    answers = {mood: compose_reply(context("question", message="How are you?", mood=mood))
               for mood in MOODS}
    assert len(set(answers.values())) == len(MOODS)
    assert all("good question" not in a.lower() for a in answers.values())


# --------------------------------------------------------------------- intent and mood
def test_replies_differ_by_intent() -> None:
    intents = ["greeting", "farewell", "thanks", "hostile", "question", "smalltalk", "joke"]
    assert len({compose_reply(context(i)) for i in intents}) == len(intents)


@pytest.mark.parametrize("who", BUNDLED, ids=[c.id for c in BUNDLED])
def test_hostility_and_a_compliment_get_different_openings(who: Character) -> None:
    for variant in range(3):
        hostile = compose_reply(context("hostile", variant=variant, who=who,
                                        message="You are useless"))
        warm = compose_reply(context("compliment", variant=variant, who=who,
                                     message="You are wonderful"))
        assert hostile.split()[:3] != warm.split()[:3]
        assert "kind" not in hostile and "welcome" not in hostile.lower()


def test_an_agreeable_character_offers_to_start_over_after_hostility() -> None:
    agreeable = character(personality={"big_five": {"agreeableness": 0.9}})
    prickly = character(personality={"big_five": {"agreeableness": 0.2}})
    assert "start over" in compose_reply(context("hostile", who=agreeable))
    assert "start over" not in compose_reply(context("hostile", who=prickly))


def test_an_unkind_remark_is_not_met_cheerfully() -> None:
    ctx = context("smalltalk", message="You're a useless clown", mood="happy", intensity=0.5)
    kind = replace(ctx, user_message="You're a lovely clown", valence=0.6)
    for unkind, warm in zip(replies(replace(ctx, valence=-0.6), 3), replies(kind, 3),
                            strict=True):
        assert "!" not in unkind.split("*")[0] and "useless clown" in unkind.lower(), unkind
        assert "!" in warm, warm


@pytest.mark.parametrize("intensity", [0.45, 0.7])
def test_mood_changes_the_wording(intensity: float) -> None:
    for intent in ("greeting", "smalltalk", "thanks"):
        worded = {compose_reply(context(intent, mood=m, intensity=intensity, turn_index=4))
                  for m in ("happy", "calm", "tired", "irritated", "anxious")}
        assert len(worded) >= 4, worded


def test_mood_is_shown_not_announced() -> None:
    for mood in MOODS:
        for intent in INTENTS:
            for reply in replies(context(intent, mood=mood, intensity=0.9)):
                assert not re.search(r"\bI(?:'m| am)? feel(?:ing)?\b", reply), reply


def test_a_strong_mood_shows_as_a_stage_direction() -> None:
    ctx = context("smalltalk", mood="tired", intensity=0.8, turn_index=4)  # odd seed: no quirk
    assert "*stifles a yawn*" in compose_reply(ctx)
    assert "yawn" not in compose_reply(replace(ctx, mood_intensity=0.2))


def test_a_joke_is_met_in_the_characters_humour_style() -> None:
    ctx = context("joke", message="lol that joke was hilarious haha")
    assert "Internally" in compose_reply(ctx)  # full_character's humour is deadpan


# ------------------------------------------------------------------------------- memory
@pytest.mark.parametrize(("user_name", "memory", "told"), [
    ("sam", "sam's dog is called Biscuit.", "your dog is called Biscuit"),
    ("user", "User loves jazz.", "you love jazz"),
    ("sam", "sam lives in Porto.", "you live in Porto"),
    ("sam", "sam has a cat called Mochi.", "you have a cat called Mochi"),
    ("sam", "sam studies marine biology.", "you study marine biology"),
])
def test_a_matched_memory_is_retold_to_the_user(user_name: str, memory: str, told: str) -> None:
    for reply in replies(context("smalltalk", memories=(memory,), user_name=user_name), 3):
        assert told in reply, reply


def test_a_memory_quoting_the_user_is_not_echoed_back() -> None:
    felt = 'sam felt upset: "my exam went badly"'
    for reply in replies(context("smalltalk", memories=(felt, "sam loves jazz.")), 3):
        assert "exam" not in reply and "you love jazz" in reply, reply


def test_a_name_memory_addresses_the_user_instead_of_being_recited() -> None:
    memories = ("User's name is Ada.", "User loves jazz.")
    reply = compose_reply(context("greeting", memories=memories, user_name="user"))
    assert "Ada" in reply and "name is" not in reply and "you love jazz" in reply


# ------------------------------------------------------------------------------- voice
def test_formal_and_casual_characters_greet_in_their_register() -> None:
    formal = replies(context("greeting"), 3)
    casual = replies(context("greeting", who=PLAYFUL), 3)
    assert all("Hey" not in r for r in formal) and any("Hey" in r for r in casual)
    assert all("Wren" in r for r in formal)


def test_a_first_greeting_introduces_the_character_by_full_name() -> None:
    for reply in replies(context("greeting", turn_index=1, who=PLAYFUL, message="Hello!"), 3):
        assert "Pip" in reply
    formal = character(name="Dr. Nadia Rahimi", communication_style={"formality_level": "formal"})
    first, later = (replies(context("greeting", turn_index=t, who=formal), 3) for t in (1, 2))
    assert all("Dr. Nadia Rahimi" in r for r in first)
    assert all("Nadia" in r and "Rahimi" not in r for r in later)


def test_first_greeting_uses_the_characters_first_message() -> None:
    assert compose_reply(context("greeting", turn_index=1)).startswith("Shoes off, sam.")


def test_a_regenerated_first_greeting_leaves_the_first_message_for_an_opening() -> None:
    again = compose_reply(replace(context("greeting", turn_index=1), variant=1))
    assert not again.startswith("Shoes off")
    assert "sam" in again


def test_quirks_show_in_the_reply_as_actions_speech_and_emojis() -> None:
    tapper = character(communication_style={"quirks": ["Taps the table when thinking."]})
    speaker = character(communication_style={"quirks": ["Says 'right then' a lot"]})
    assert any("*taps the table*" in r for r in replies(context("smalltalk", who=tapper)))
    assert any("Right then." in r for r in replies(context("smalltalk", who=speaker)))
    happy = replies(context("smalltalk", mood="happy", who=PLAYFUL))
    assert any("🎩" in r for r in happy)
    assert not any("🎩" in r for r in replies(context("smalltalk", mood="sad", who=PLAYFUL)))


def test_a_quirk_about_the_user_is_addressed_to_them() -> None:
    rater = character(communication_style={"quirks": ["Rates the user's ideas out of ten"]})
    assert any("*rates your ideas out of ten*" in r
               for r in replies(context("smalltalk", who=rater)))


# ----------------------------------------------------------------- variants, determinism
@pytest.mark.parametrize("intent", INTENTS)
def test_consecutive_variants_give_different_replies(intent: str) -> None:
    found = replies(context(intent), 6)
    assert all(a != b for a, b in pairwise(found))
    assert len(set(found[:3])) == 3  # three openings per intent: the first three all differ


def test_the_same_variant_gives_the_same_reply() -> None:
    ctx = replace(context("question"), variant=2)
    assert compose_reply(ctx) == compose_reply(ctx)


_PROBE = """
from tests.backends.test_scripted_replies import BUNDLED, INTENTS, context, replies
for who in BUNDLED:
    for intent in INTENTS:
        ctx = context(intent, who=who, user_name="user", mood="happy", intensity=0.7,
                      message="Hey! I'm Sam and I love jazz. Any tricks for me?",
                      memories=("User lives in Porto.",))
        print(*replies(ctx, 3), sep="\\n")
"""


@pytest.mark.process
def test_replies_are_the_same_under_different_hash_seeds() -> None:
    def run(seed: str) -> str:
        return subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, timeout=60,
                              capture_output=True, text=True).stdout
    first = run("1")
    assert first and first == run("31337")
