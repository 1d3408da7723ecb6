"""Formation: which turns leave which semantic memories, with what kind, importance and
fields (the episodes every turn also forms are ``test_episodes``')."""

from __future__ import annotations

import pytest

from worker.memory.formation import MAX_MEMORIES_PER_TURN, form_memories
from worker.memory.models import EPISODIC_KINDS, NewMemory

NOW = 1_700_000_000.0


def semantic(memories: list[NewMemory]) -> list[NewMemory]:
    return [m for m in memories if m.kind not in EPISODIC_KINDS]


def formed(
    message: str, *, reply: str = "", valence: float = 0.0, arousal: float = 0.2
) -> list[NewMemory]:
    """The semantic memories of a turn of user Sam."""
    return semantic(form_memories(
        user_message=message, reply=reply, valence=valence, arousal=arousal, turn_id=7,
        now=NOW, user="Sam",
    ))


@pytest.mark.parametrize(
    ("message", "text", "kind", "importance"),
    [
        ("My dog is called Biscuit.", "Sam's dog is called Biscuit.", "fact", 0.8),
        ("my dog's name is Biscuit", "Sam's dog is called Biscuit.", "fact", 0.8),
        ("I have a cat named Mochi", "Sam has a cat called Mochi.", "fact", 0.8),
        ("My name is sam", "Sam's name is Sam.", "fact", 0.9),
        ("I live in Lisbon, Portugal.", "Sam lives in Lisbon, Portugal.", "fact", 0.7),
        ("I'm from Brazil", "Sam is from Brazil.", "fact", 0.7),
        ("I work as a nurse at the city hospital", "Sam works as a nurse at the city hospital.",
         "fact", 0.7),
        ("I'm a software engineer", "Sam is a software engineer.", "fact", 0.6),
        ("My birthday is May 5, 1990", "Sam's birthday is May 5, 1990.", "fact", 0.8),
        ("I have an exam on Friday", "Sam has an exam on Friday.", "fact", 0.5),
        ("My sister is getting married", "Sam's sister is getting married.", "fact", 0.5),
        ("I love jazz", "Sam loves jazz.", "preference", 0.6),
        ("I really enjoy baking bread", "Sam enjoys baking bread.", "preference", 0.5),
        ("I don't like spiders", "Sam doesn't like spiders.", "preference", 0.5),
        ("I can't stand loud music", "Sam can't stand loud music.", "preference", 0.6),
        ("My favourite colour is green", "Sam's favourite colour is green.", "preference", 0.6),
        ("I'm a huge fan of chess", "Sam is a fan of chess.", "preference", 0.5),
    ],
)
def test_a_shared_fact_or_preference_forms_one_third_person_memory(
    message: str, text: str, kind: str, importance: float
) -> None:
    [memory] = formed(message)
    assert (memory.text, memory.kind, memory.importance) == (text, kind, importance)


@pytest.mark.parametrize(
    ("message", "text", "importance"),
    [
        ("Remind me to call my mom tomorrow.",
         "Sam asked to be reminded to call their mom tomorrow.", 0.8),
        ("Can you remind me about the dentist?",
         "Sam asked to be reminded about the dentist.", 0.8),
        ("I promise I'll visit you next week", "Sam promised to visit you next week.", 0.8),
        ("I'll bring cake on Friday", "Sam said they will bring cake on Friday.", 0.6),
        ("I'm going to start running again", "Sam said they will start running again.", 0.6),
    ],
)
def test_promises_plans_and_reminders_form_promise_memories(
    message: str, text: str, importance: float
) -> None:
    [memory] = formed(message)
    assert (memory.text, memory.kind, memory.importance) == (text, "promise", importance)


def test_a_question_with_content_forms_a_question_memory_quoting_it() -> None:
    [memory] = formed("What should I cook for dinner tonight?")
    assert memory.kind == "question"
    assert memory.text == 'Sam asked: "What should I cook for dinner tonight?"'
    assert memory.importance == 0.4  # about the user's own life


def test_a_question_about_something_else_is_less_important() -> None:
    [memory] = formed("Do you like jazz music?")
    assert (memory.kind, memory.importance) == ("question", 0.3)


@pytest.mark.parametrize(
    "message",
    ["hi", "Hello! How are you?", "what's up?", "I'm fine, thanks", "lol ok", "I like it",
     "my day was fine", "I'm a bit tired", "thanks!", "", "   ", "?!"],
)
def test_small_talk_forms_no_semantic_memory(message: str) -> None:
    assert formed(message) == []


def test_a_strongly_negative_turn_forms_an_emotional_moment() -> None:
    [memory] = formed("I lost my job today", valence=-0.8, arousal=0.7)
    assert memory.kind == "emotion"
    assert memory.text == 'Sam felt upset and distressed: "I lost my job today"'
    assert memory.importance == pytest.approx(0.4 + 0.5 * 0.8)
    assert memory.valence == -0.8


def test_high_arousal_alone_is_an_emotional_moment() -> None:
    [memory] = formed("The match is starting right now", valence=0.1, arousal=0.9)
    assert memory.kind == "emotion"
    assert memory.importance == pytest.approx(0.85)


def test_an_emotional_turn_raises_the_importance_of_its_other_memories() -> None:
    calm = formed("I live in Porto", valence=0.0, arousal=0.2)
    moved = formed("I live in Porto", valence=0.9, arousal=0.2)
    assert calm[0].importance == 0.7
    assert moved[0].importance == pytest.approx(0.8)
    assert [m.kind for m in moved] == ["fact", "emotion"]


def test_a_promise_in_the_reply_is_remembered() -> None:
    memories = formed("ok", reply="I promise I will be there for you. Anything else?")
    assert [(m.kind, m.text) for m in memories] == [
        ("promise", 'Sam was promised: "I promise I will be there for you".')
    ]


def test_each_clause_of_a_message_forms_its_own_memory_in_order() -> None:
    memories = formed("I live in Porto and I work as a baker, but I hate mornings.")
    assert [m.text for m in memories] == [
        "Sam lives in Porto.", "Sam works as a baker.", "Sam hates mornings."
    ]


def test_every_memory_carries_the_turn_time_user_valence_and_original_words() -> None:
    [memory] = formed("Honestly, my dog is called Biscuit!", valence=0.3)
    assert (memory.turn_id, memory.created_at, memory.user, memory.valence) == (7, NOW, "Sam", 0.3)
    assert memory.source == "Honestly, my dog is called Biscuit!"


def test_a_blank_user_name_is_written_as_user() -> None:
    [memory] = semantic(form_memories(
        user_message="My dog is called Biscuit", reply="", valence=0, arousal=0, turn_id=1,
        now=NOW, user=" ",
    ))
    assert memory.text == "User's dog is called Biscuit."


def test_formation_is_deterministic() -> None:
    message = "I live in Porto. My cat is called Mochi! Remind me to buy food? I love tea."
    assert formed(message, valence=0.7) == formed(message, valence=0.7)


def test_a_long_rambling_message_forms_a_bounded_number_of_memories() -> None:
    message = " ".join(f"I love thing{i}." for i in range(50))
    assert len(formed(message)) == MAX_MEMORIES_PER_TURN


def test_out_of_range_valence_and_arousal_are_clamped() -> None:
    [memory] = formed("The building is on fire right now", valence=-3.0, arousal=9.0)
    assert memory.valence == -1.0
    assert memory.importance == pytest.approx(0.9)
