"""The scripted replies, byte for byte: every bundled character (and two sparse ones) answers
a fixed set of turns exactly as recorded in ``scripted_replies_golden.json``.

The turns cover every branch of the composer (each intent and mood, every statement and
question kind, name and memory handling, first messages, variants, messages that once made
the clause matching quadratic), so a refactoring that changes one word of one reply fails
here. After an intended change of wording, rewrite the file and review its diff:
``.venv/bin/python -m tests.backends.test_scripted_replies_golden``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas.loader import available_ids, load_character
from schemas.model import Character
from tests.support.paths import REPO_ROOT
from worker.backends.base import ReplyContext
from worker.scripted_replies.compose import compose_reply

GOLDEN = Path(__file__).with_name("scripted_replies_golden.json")
CHARACTERS_DIR = REPO_ROOT / "schemas" / "characters"


@dataclass(frozen=True, slots=True)
class Turn:
    """One recorded turn: the message and the state it is answered in."""

    name: str
    intent: str
    message: str
    mood: str = "neutral"
    intensity: float = 0.2
    valence: float = 0.0
    turn_index: int = 3
    memories: tuple[str, ...] = ()
    user_name: str = "sam"
    variant: int = 0
    earlier: tuple[str, ...] = ()


TURNS = (
    Turn("first-greeting", "greeting", "Hello!", turn_index=1),
    Turn("first-greeting-regenerated", "greeting", "Hello!", turn_index=1, variant=1),
    Turn("first-greeting-no-name", "greeting", "Hi", turn_index=1, user_name="user"),
    Turn("greeting-happy", "greeting", "Hi there", mood="happy", intensity=0.7, turn_index=4),
    Turn("greeting-name-and-taste", "greeting",
         "Hey! I'm Sam and I love jazz. Any tricks for me?", mood="happy", intensity=0.7,
         memories=("User lives in Porto.",), user_name="user"),
    Turn("greeting-my-name-is", "greeting", "Hello, my name is priya", user_name="user",
         variant=2),
    Turn("greeting-call-me", "greeting", "Hi there, call me Jo", user_name="user", variant=3),
    Turn("greeting-not-a-name", "greeting", "Hi! I'm English, by the way", user_name="user"),
    Turn("greeting-earlier-name", "greeting", "Hello again", user_name="user",
         earlier=("Hi, I'm Sam!", "I love jazz", "Actually, call me Jo")),
    Turn("greeting-name-memory", "greeting", "Hello!", user_name="user",
         memories=("User's name is Ada.", "User loves jazz.")),
    Turn("farewell", "farewell", "Bye, see you tomorrow. What time?", mood="calm",
         intensity=0.5),
    Turn("thanks", "thanks", "Thanks so much for the help!", mood="content", intensity=0.4,
         variant=1),
    Turn("apology", "apology", "Sorry about earlier, I was rude", mood="sad", intensity=0.5,
         valence=-0.2),
    Turn("hostile", "hostile", "You are useless and boring", mood="irritated", intensity=0.8,
         valence=-0.8),
    Turn("hostile-regenerated", "hostile", "You are useless and boring. Why?", mood="irritated",
         intensity=0.8, valence=-0.8, variant=1),
    Turn("joke", "joke", "lol that joke was hilarious haha", mood="happy", intensity=0.7),
    Turn("joke-odd-seed", "joke", "Knock knock. Who's there? A pun.", mood="excited",
         intensity=0.3, variant=1),
    Turn("compliment", "compliment", "You are wonderful, really", mood="excited",
         intensity=0.9),
    Turn("how-are-you-tired", "question", "How are you?", mood="tired", intensity=0.8),
    Turn("how-are-you-anxious", "question", "How's it going?", mood="anxious", intensity=0.5,
         variant=1),
    Turn("whats-up-smalltalk", "smalltalk", "Hey, what's up?", mood="stressed", intensity=0.65),
    Turn("who-are-you", "question", "Who are you?", mood="content", intensity=0.7),
    Turn("job", "question", "So what do you do for a living?", variant=2),
    Turn("origin", "question", "Where are you from?", mood="calm", intensity=0.4),
    Turn("remember-with-memory", "question", "Do you remember my dog?",
         memories=("sam's dog is called Biscuit.",)),
    Turn("remember-without-memory", "question", "Do you remember me?", variant=1),
    Turn("favourite-book", "question", "What is your favourite book?"),
    Turn("favourite-music", "question", "What's your favourite music, and why?", variant=1),
    Turn("opinion-pizza", "question", "What do you think about pineapple pizza?"),
    Turn("opinion-poetry", "question", "Do you like poetry?", mood="happy", intensity=0.5,
         variant=3),
    Turn("advice-general", "question", "Any tips for getting better at chess?"),
    Turn("advice-in-specialty", "question",
         "How should I learn more about mathematics and cooking and canals and medicine?"),
    Turn("outside-specialty", "question", "Why does the moon glow at night?", variant=2),
    Turn("bare-why", "question", "Why?"),
    Turn("statement-and-question", "question", "I love jazz. Do you like jazz?", mood="happy",
         intensity=0.4),
    Turn("work", "smalltalk", "I work as a nurse"),
    Turn("place", "smalltalk", "I live in Porto these days", variant=1),
    Turn("hate", "smalltalk", "I really hate my commute", mood="irritated", intensity=0.4),
    Turn("did", "smalltalk", "I just finished my thesis!", mood="excited", intensity=0.7),
    Turn("did-bought", "smalltalk", "I finally bought a new bike", variant=2),
    Turn("feel-low", "smalltalk", "I'm so tired today", mood="sad", intensity=0.6),
    Turn("feel-high", "smalltalk", "I'm really happy about the weekend", mood="happy",
         intensity=0.9),
    Turn("study", "smalltalk", "I'm studying marine biology", variant=3),
    Turn("want", "smalltalk", "I want to learn the violin"),
    Turn("identity", "smalltalk", "I'm an engineer, by the way", turn_index=6),
    Turn("love-pronoun-only", "smalltalk", "I love it"),
    Turn("love-shared-interests", "smalltalk",
         "I love music and horses and wine and kites and maps and poetry", variant=1),
    Turn("salient", "smalltalk", "The lighthouse keeper waved at me"),
    Turn("salient-sore", "smalltalk", "You're a useless clown", mood="happy", intensity=0.5,
         valence=-0.6),
    Turn("nothing-salient", "smalltalk", "ok"),
    Turn("memories-retold", "smalltalk", "Hmm",
         memories=('sam felt upset: "my exam went badly"', "sam lives in Porto.")),
    Turn("memory-has", "smalltalk", "Nice weather", memories=("sam has a cat called Mochi.",),
         variant=1),
    Turn("memory-studies", "smalltalk", "Nice weather",
         memories=("sam studies marine biology.",), variant=2),
    Turn("memory-is", "smalltalk", "Nice weather", memories=("Sam is a teacher.",),
         user_name="Sam"),
    Turn("memory-said-they-will", "smalltalk", "Nice weather",
         memories=("sam said they will call their mother.",), variant=3),
    Turn("memory-not-about-user", "smalltalk", "Nice weather",
         memories=("Rain fell all day in the valley.",)),
    Turn("memory-about-a-longer-name", "smalltalk", "Nice weather",
         memories=("Samantha likes tea.",), user_name="Sam"),
    Turn("braces-in-message", "smalltalk", "I love {x} and {{user}} braces"),
    Turn("long-space-run", "smalltalk", "I love jazz" + " " * 300 + "."),
    Turn("long-space-question", "question", "What is your favourite jazz" + " " * 300 + "?"),
    Turn("unknown-intent-and-mood", "curiosity", "Tell me about lighthouses", mood="wistful",
         intensity=0.9),
)


# Besides the bundled characters, two whose cards leave out what the bundled ones all have
# (quirks, values, location, interests; experience years; a nickname).
SPARSE = (
    Character.model_validate({"id": "bare", "name": "Tess", "archetype": "test_subject"}),
    Character.model_validate({"id": "nicknamed", "name": "Bartholomew Quill",
                              "archetype": "scribe", "roleplay": {"nickname": "Bart"},
                              "specialty": {"domain": "calligraphy"}}),
)
CHARACTERS: dict[str, Character] = {
    **{character_id: load_character(character_id, CHARACTERS_DIR).character
       for character_id in available_ids(CHARACTERS_DIR)},
    **{sparse.id: sparse for sparse in SPARSE},
}


def reply(who: Character, turn: Turn) -> str:
    return compose_reply(ReplyContext(
        character=who, user_name=turn.user_name, user_message=turn.message,
        intent=turn.intent, mood=turn.mood, mood_intensity=turn.intensity,
        valence=turn.valence, turn_index=turn.turn_index, memory_snippets=turn.memories,
        variant=turn.variant, earlier_user_messages=turn.earlier))


def replies_of(character_id: str) -> dict[str, str]:
    """``"<character id> <turn name>"`` → reply, for every turn."""
    who = CHARACTERS[character_id]
    return {f"{character_id} {turn.name}": reply(who, turn) for turn in TURNS}


def recorded() -> dict[str, str]:
    recorded: dict[str, str] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return recorded


@pytest.mark.parametrize("character_id", sorted(CHARACTERS))
def test_every_reply_is_the_recorded_one(character_id: str) -> None:
    expected = {k: v for k, v in recorded().items() if k.split(" ", 1)[0] == character_id}
    assert replies_of(character_id) == expected


def test_nothing_recorded_is_left_unchecked() -> None:
    checked = {key for character_id in CHARACTERS for key in replies_of(character_id)}
    assert set(recorded()) == checked


if __name__ == "__main__":
    everything = {k: v for character_id in sorted(CHARACTERS)
                  for k, v in replies_of(character_id).items()}
    GOLDEN.write_text(json.dumps(everything, ensure_ascii=False, indent=0) + "\n",
                      encoding="utf-8")
