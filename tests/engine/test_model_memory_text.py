"""The model's answer after a turn, read strictly; and when it is asked at all (pure)."""

from __future__ import annotations

from worker.engine.model_memory_text import (
    MAX_FACT_CHARS,
    MAX_FACTS,
    ModelMemoryPlan,
    parse_facts,
    parse_summary,
    plan_model_memory,
)


def test_each_json_line_with_a_fact_is_a_fact() -> None:
    answer = '{"fact": "Sam\'s sister lives in Lisbon."}\n{"fact": "Sam is allergic to peanuts."}'
    assert parse_facts(answer) == ["Sam's sister lives in Lisbon.", "Sam is allergic to peanuts."]


def test_prose_fences_other_keys_and_other_types_are_ignored() -> None:
    answer = "\n".join([
        "Here are the facts:", "```json", '{"fact": "Sam plays the violin."},',
        '{"fact": 3}', '{"note": "x"}', '{"fact": "a", "extra": 1}', "[1, 2]", "{broken",
        '{"fact": "   "}', "```"])
    assert parse_facts(answer) == ["Sam plays the violin."]


def test_duplicates_and_known_facts_are_dropped() -> None:
    answer = '{"fact": "Sam has a dog."}\n{"fact": "sam has a dog."}\n{"fact": "Sam is 30."}'
    assert parse_facts(answer, known=["Sam is 30."]) == ["Sam has a dog."]


def test_counts_and_lengths_are_capped() -> None:
    many = "\n".join(f'{{"fact": "Fact number {n}."}}' for n in range(20))
    assert len(parse_facts(many)) == MAX_FACTS
    too_long = '{"fact": "%s"}' % ("x" * (MAX_FACT_CHARS + 1))
    assert parse_facts(too_long) == []


def test_a_summary_is_the_first_valid_summary_line() -> None:
    assert parse_summary('oops\n{"summary": "Sam is  anxious about the exam."}\n'
                         '{"summary": "second"}') == "Sam is anxious about the exam."
    assert parse_summary('{"fact": "not a summary"}') is None


def test_auto_never_asks_the_scripted_backend_and_asks_a_real_one() -> None:
    assert plan_model_memory("auto", backend="scripted", users_turns=10, reflect_every=10) \
        == ModelMemoryPlan(extract=False, reflect=False)
    assert plan_model_memory("auto", backend="openai", users_turns=3, reflect_every=10) \
        == ModelMemoryPlan(extract=True, reflect=False)


def test_on_and_off_override_the_backend() -> None:
    assert plan_model_memory("on", backend="scripted", users_turns=1, reflect_every=0).extract
    assert not plan_model_memory("off", backend="ollama", users_turns=1, reflect_every=1).extract


def test_a_reflection_is_due_every_n_turns_of_the_user() -> None:
    due = [n for n in range(1, 13)
           if plan_model_memory("on", backend="openai", users_turns=n, reflect_every=4).reflect]
    assert due == [4, 8, 12]
    assert not plan_model_memory("on", backend="openai", users_turns=4, reflect_every=0).reflect
