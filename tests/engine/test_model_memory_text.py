"""The model's answer after a turn, read strictly; and when it is asked at all (pure)."""

from __future__ import annotations

from worker.engine.model_memory_text import (
    MAX_FACT_CHARS,
    MAX_FACTS,
    FactChanges,
    ModelMemoryPlan,
    extraction_messages,
    parse_fact_changes,
    parse_summary,
    plan_model_memory,
)


def added(answer: str, known: dict[int, str] | None = None) -> list[str]:
    return list(parse_fact_changes(answer, known=known or {}).added)


def test_each_json_line_with_a_fact_is_a_fact() -> None:
    answer = '{"fact": "Sam\'s sister lives in Lisbon."}\n{"fact": "Sam is allergic to peanuts."}'
    assert added(answer) == ["Sam's sister lives in Lisbon.", "Sam is allergic to peanuts."]


def test_prose_fences_other_keys_and_other_types_are_ignored() -> None:
    answer = "\n".join([
        "Here are the facts:", "```json", '{"fact": "Sam plays the violin."},',
        '{"fact": 3}', '{"note": "x"}', '{"fact": "a", "extra": 1}', "[1, 2]", "{broken",
        '{"fact": "   "}', "```"])
    assert added(answer) == ["Sam plays the violin."]


def test_duplicates_and_known_facts_are_dropped() -> None:
    answer = '{"fact": "Sam has a dog."}\n{"fact": "sam has a dog."}\n{"fact": "Sam is 30."}'
    assert added(answer, {4: "Sam is 30."}) == ["Sam has a dog."]


def test_counts_and_lengths_are_capped() -> None:
    many = "\n".join(f'{{"fact": "Fact number {n}."}}' for n in range(20))
    assert len(added(many)) == MAX_FACTS
    too_long = '{"fact": "%s"}' % ("x" * (MAX_FACT_CHARS + 1))
    assert added(too_long) == []


KNOWN = {3: "Sam lives in Porto.", 7: "Sam has a cat called Miso."}


def test_an_update_names_a_known_fact_and_gives_its_new_text() -> None:
    answer = '{"update": 3, "fact": "Sam moved from Porto to Lisbon."}\n{"delete": 7}'
    assert parse_fact_changes(answer, known=KNOWN) == FactChanges(
        updated=((3, "Sam moved from Porto to Lisbon."),), deleted=(7,))


def test_changes_to_unknown_ids_or_ids_of_the_wrong_type_are_ignored() -> None:
    answer = "\n".join([
        '{"update": 99, "fact": "Sam is 40."}', '{"delete": 12}', '{"delete": "3"}',
        '{"delete": true}', '{"update": 3.0, "fact": "x"}', '{"update": 3}',
        '{"update": 3, "fact": "Sam is 40.", "extra": 1}', '{"delete": 7, "fact": "x"}'])
    assert parse_fact_changes(answer, known=KNOWN) == FactChanges()


def test_a_fact_is_changed_at_most_once_and_never_to_the_same_text() -> None:
    answer = "\n".join([
        '{"update": 3, "fact": "sam lives in porto."}',
        '{"update": 3, "fact": "Sam lives in Faro."}', '{"delete": 3}', '{"delete": 7}',
        '{"update": 7, "fact": "Sam has a dog."}'])
    assert parse_fact_changes(answer, known=KNOWN) == FactChanges(
        updated=((3, "Sam lives in Faro."),), deleted=(7,))


def test_the_prompt_shows_the_known_facts_with_their_ids() -> None:
    [system, body] = extraction_messages(user="Sam", user_message="I moved to Lisbon.",
                                         reply="How exciting!", known=KNOWN)
    assert '{"update": <id>' in system.content and '{"delete": <id>}' in system.content
    assert "[3] Sam lives in Porto.\n[7] Sam has a cat called Miso." in body.content


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
