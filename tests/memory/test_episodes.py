"""Episodes: every sentence a turn said is kept word for word, whether or not a rule
recognised it."""

from __future__ import annotations

import pytest

from worker.memory.episodes import MESSAGE_IMPORTANCE, REPLY_IMPORTANCE, form_episodes
from worker.memory.formation import form_memories
from worker.memory.models import EPISODIC_KINDS, NewMemory
from worker.memory.sentences import MAX_PIECE_CHARS, MAX_PIECES

NOW = 1_700_000_000.0


def episodes(message: str, reply: str = "", *, valence: float = 0.0) -> list[NewMemory]:
    return form_episodes(user_message=message, reply=reply, valence=valence, turn_id=7,
                         now=NOW, user="sam")


@pytest.mark.parametrize("message", [
    "My sister Ophelia moved to Lisbon last spring.",
    "I'm allergic to peanuts.",
    "I'm thinking of learning the guitar.",
    "Our dog Pepper passed away.",
])
def test_a_sentence_no_rule_recognises_is_still_kept_word_for_word(message: str) -> None:
    [memory] = episodes(message)
    assert (memory.kind, memory.source, memory.text) == (
        "message", message, f'Sam said: "{message}"')


def test_every_sentence_of_the_message_and_the_reply_is_an_episode_in_order() -> None:
    memories = episodes("My dog is old. He sleeps a lot!\nHe snores too?",
                        "Oh, bless him. Old dogs are the best.")
    assert [(m.kind, m.source) for m in memories] == [
        ("message", "My dog is old."), ("message", "He sleeps a lot!"),
        ("message", "He snores too?"),
        ("reply", "Oh, bless him."), ("reply", "Old dogs are the best."),
    ]
    assert memories[3].text == 'Sam was told: "Oh, bless him."'


def test_an_episode_carries_the_turns_user_id_time_and_valence() -> None:
    [memory] = episodes("I'm allergic to peanuts.", valence=-0.4)
    assert (memory.user, memory.turn_id, memory.created_at, memory.valence) == (
        "sam", 7, NOW, -0.4)


def test_the_users_words_matter_more_than_the_characters_and_less_than_a_fact() -> None:
    fact, said, told = form_memories(
        user_message="My dog is called Biscuit.", reply="What a lovely name for a dog.",
        valence=0.0, arousal=0.2, turn_id=7, now=NOW, user="sam")
    assert (fact.kind, said.kind, told.kind) == ("fact", "message", "reply")
    assert fact.importance > said.importance == MESSAGE_IMPORTANCE > told.importance
    assert told.importance == REPLY_IMPORTANCE


@pytest.mark.parametrize("sentence", ["Hi!", "Okay.", "Yes, yes.", "?!", "   "])
def test_a_sentence_without_a_content_word_is_not_kept(sentence: str) -> None:
    assert episodes(sentence, sentence) == []


def test_a_question_kept_whole_by_a_question_memory_has_no_second_copy() -> None:
    memories = form_memories(
        user_message="What should I cook for dinner tonight?", reply="", valence=0.0,
        arousal=0.2, turn_id=7, now=NOW, user="sam")
    assert [m.kind for m in memories] == ["question"]


def test_rule_memories_come_first_then_the_episodes() -> None:
    memories = form_memories(
        user_message="I live in Porto. My sister is a nurse.", reply="Lovely city.",
        valence=0.0, arousal=0.2, turn_id=7, now=NOW, user="sam")
    kinds = [m.kind for m in memories]
    assert kinds == ["fact", "fact", "message", "message", "reply"]


def test_a_long_sentence_is_cut_at_word_boundaries_and_loses_no_word() -> None:
    sentence = " ".join(f"word{i}" for i in range(300))
    memories = episodes(sentence)
    assert len(memories) > 1
    assert all(len(m.source) <= MAX_PIECE_CHARS for m in memories)
    assert " ".join(m.source for m in memories) == sentence


def test_a_very_long_message_is_packed_into_a_bounded_number_of_episodes() -> None:
    message = " ".join(f"Sentence number {i} is here." for i in range(2000))
    memories = episodes(message)
    assert len(memories) <= 2 * MAX_PIECES + 1
    assert " ".join(m.source for m in memories) == message


def test_episodes_are_deterministic() -> None:
    message, reply = "I broke my wrist skiing. It hurt!", "Ouch. Skiing is risky."
    assert episodes(message, reply) == episodes(message, reply)
    assert all(m.kind in EPISODIC_KINDS for m in episodes(message, reply))
