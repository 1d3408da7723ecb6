"""Every reply stores its trace: what the message was read as, how each vital moved and why,
the mood's choice, the memories considered, the history kept, the generation — and it is
read back for any past turn, after reopening, with the reply it belongs to."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from protocol.generation import GenerationSettings
from schemas.model import NEUROCHEMICALS
from tests.engine.characters import character, sensitive_character
from tests.engine.clock import ManualClock
from tests.engine.conftest import OpenEngine, chat, exported, regenerate
from tests.engine.test_keep_partial import CutOffBackend, cut_off
from worker.backends.base import GenerationDone, GenerationOptions, GenerationRequest, TextDelta
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine
from worker.engine.errors import EngineError
from worker.engine.prompt_budget import PromptLimits
from worker.engine.turn_trace import TurnTrace
from worker.engine.vitals import Vitals

HALF_LIFE_S = 600.0  # CharacterEngine.open's default


class OptionsRecorder(ScriptedBackend):
    """The scripted backend, keeping the options of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[GenerationOptions] = []

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        self.options.append(request.options)
        async for event in super().generate(request):
            yield event


def trace_of(engine: CharacterEngine, turn_index: int | None = None) -> TurnTrace:
    found = engine.trace(turn_index).trace
    assert found is not None
    return found


async def test_the_decay_since_the_last_turn_is_reported_level_by_level(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    sable = sensitive_character()
    engine = open_engine(sable)
    await chat(engine, "You are WONDERFUL, thank you so much!!")
    clock.advance(HALF_LIFE_S)
    await chat(engine, "ok")
    vitals = trace_of(engine).vitals
    assert vitals.elapsed_s == HALF_LIFE_S and vitals.half_life_s == HALF_LIFE_S
    baseline = Vitals.from_mapping(sable.neurochemistry.baseline.as_dict())
    assert [level.name for level in vitals.levels] == list(NEUROCHEMICALS)
    moved = [level for level in vitals.levels if abs(level.committed - 50.0) > 1.0]
    assert moved, "the first message must have moved some level"
    for level in vitals.levels:  # one half-life halves the distance to baseline
        expected = (getattr(baseline, level.name) - level.committed) / 2
        assert level.decay == pytest.approx(expected, abs=1e-3)


async def test_no_time_between_turns_is_no_decay(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "You idiot!")
    await chat(engine, "You idiot!")
    vitals = trace_of(engine).vitals
    assert vitals.elapsed_s == 0.0
    assert all(level.decay == 0.0 for level in vitals.levels)


async def test_each_level_moves_by_its_axis_pushes_and_lands_where_the_state_is(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    result = await chat(engine, "You idiot, I hate you!")
    levels = {level.name: level for level in trace_of(engine).vitals.levels}
    assert levels["cortisol"].impulse["threat"] > 0 and levels["cortisol"].sensitivity == 2.0
    for name, level in levels.items():
        assert level.after == pytest.approx(result.vitals[name], abs=1e-4)
        assert level.after == pytest.approx(level.committed + level.decay + level.delta,
                                            abs=1e-3)
        pushed = sum(level.impulse.values())
        if 0.0 < level.after < 100.0:
            assert level.delta == pytest.approx(pushed, abs=1e-3)
        else:  # clamped: the push was larger than the room left
            assert abs(level.delta) < abs(pushed)
    assert levels["cortisol"].after == 100.0, "this message must clamp one level"


async def test_the_appraisal_names_the_words_that_drove_it(open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "You idiot, shut up!")
    appraisal = trace_of(engine).appraisal
    assert appraisal.intent == "hostile" and appraisal.intent_rule.startswith("threat")
    assert '"idiot"' in appraisal.cues["threat"] and '"shut up"' in appraisal.cues["threat"]
    assert '1 × "!"' in appraisal.cues["arousal"]
    assert "humour" not in appraisal.cues  # an axis at 0 has no cues


async def test_the_mood_before_and_after_are_the_states_on_either_side(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    before = engine.character_info()
    result = await chat(engine, "You are WONDERFUL, thank you so much!!")
    mood = trace_of(engine).mood
    assert (mood.before, mood.after.label) == (before["mood"], result.mood)
    assert mood.after.intensity == result.mood_intensity


async def test_memory_candidates_carry_their_score_components_and_whether_they_were_used(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine()
    await chat(engine, "My dog is called Biscuit.")
    clock.advance(60)
    await chat(engine, "What is my dog called?")
    memories = trace_of(engine).memories
    assert memories.searched and "dog" in memories.query_words
    assert sum(memories.weights.values()) == pytest.approx(1.0)
    best = memories.candidates[0]
    assert "Biscuit" in best.text and best.used and best.reason == "its words matched"
    assert best.relevance == 1.0 and 0 < best.recency <= 1 and "dog" in best.matched
    assert best.score == pytest.approx(
        memories.weights["relevance"] * best.relevance + memories.weights["recency"]
        * best.recency + memories.weights["importance"] * best.importance, abs=1e-3)


async def test_a_memory_formed_by_the_turn_itself_is_reported_as_skipped(
        open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "My dog is called Biscuit.")
    await regenerate(engine)  # the turn's own memory is found by its own message
    candidates = trace_of(engine).memories.candidates
    assert candidates and not candidates[0].used
    assert candidates[0].reason.startswith("formed by this turn")


async def test_history_kept_and_dropped_add_up_to_what_was_read(
        open_engine: OpenEngine) -> None:
    engine = open_engine(prompt_limits=PromptLimits(token_cap=600, min_exchanges=0))
    for n in range(8):
        await chat(engine, f"Message number {n}, with a few words to take room in the prompt.")
    history = trace_of(engine).history
    assert history.read == 7 and history.dropped > 0
    assert history.kept + history.dropped == history.read
    assert history.budget_tokens == 600 and history.system_tokens > 0
    assert trace_of(engine, 1).history.read == 0


async def test_the_trace_names_each_lorebook_entry_that_fired_and_the_key_that_fired_it(
        open_engine: OpenEngine) -> None:
    book = {"entries": [{"keys": ["harbour"], "content": "The harbour froze in 1904."},
                        {"keys": ["tower"], "content": "The tower leans.", "enabled": False},
                        {"keys": ["x"], "content": "  "}, {"keys": ["mill"], "content": "M."}]}
    engine = open_engine(character(roleplay={"lorebook": book}))
    await chat(engine, "Tell me about the harbour.")
    lorebook = trace_of(engine).lorebook
    assert [(f.entry, f.key, f.where, f.included) for f in lorebook.fired] == [
        ("harbour", "harbour", "message 0", True)]
    assert lorebook.budget_tokens > lorebook.used_tokens > 0


async def test_session_options_reach_the_backend_and_the_trace(open_engine: OpenEngine) -> None:
    backend = OptionsRecorder()
    engine = open_engine(backend=backend)
    settings = GenerationSettings(temperature=0.3, max_tokens=40, model="other-model")
    async for _ in engine.chat("Hello!", options=settings):
        pass
    sent = backend.options[-1]
    assert (sent.temperature, sent.max_tokens, sent.model) == (0.3, 40, "other-model")
    generation = trace_of(engine).generation
    assert generation.session == {"temperature": 0.3, "max_tokens": 40, "model": "other-model"}
    assert generation.options == sent


async def test_another_reply_runs_with_the_settings_the_turn_had(
        open_engine: OpenEngine) -> None:
    backend = OptionsRecorder()
    engine = open_engine(backend=backend)
    async for _ in engine.chat("Hello!", options=GenerationSettings(top_p=0.5)):
        pass
    await regenerate(engine)
    assert backend.options[-1].top_p == 0.5
    assert trace_of(engine).generation.session == {"top_p": 0.5}


async def test_a_chat_without_options_runs_with_the_characters_own(
        open_engine: OpenEngine) -> None:
    own = GenerationOptions(model="m", temperature=0.8, max_tokens=512)
    backend = OptionsRecorder()
    engine = open_engine(backend=backend, options=own)
    await chat(engine, "Hello!")
    assert backend.options[-1] == own
    assert trace_of(engine).generation.session == {}


async def test_the_generation_records_usage_and_time_to_first_token(
        open_engine: OpenEngine) -> None:
    engine = open_engine()
    result = await chat(engine, "Hello!")
    generation = trace_of(engine).generation
    assert generation.backend == "scripted" and generation.finish_reason == "stop"
    assert generation.completion_tokens == result.generation.completion_tokens
    assert generation.time_to_first_token_ms is not None and generation.duration_ms is not None
    assert generation.time_to_first_token_ms <= generation.duration_ms


async def test_a_kept_cut_off_reply_says_nothing_was_generated_or_searched(
        open_engine: OpenEngine) -> None:
    engine = open_engine(backend=CutOffBackend())
    await cut_off(engine.chat("Tell me a story"))
    async for _ in engine.chat("Tell me a story", keep_partial=True):
        pass
    trace = trace_of(engine)
    assert trace.generation.kept_partial and trace.generation.duration_ms is None
    assert not trace.memories.searched


async def test_a_turns_trace_is_read_back_after_reopening(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    engine = open_engine()
    await chat(engine, "Hello there!")
    await chat(engine, "I love hiking.")
    first = trace_of(engine, 1)
    engine.close()
    reopened = open_engine()
    assert trace_of(reopened, 1) == first
    assert reopened.trace().turn.turn_index == 2


async def test_each_reply_keeps_its_trace_and_selecting_one_brings_its_trace_back(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine()
    await chat(engine, "Hello there!")
    original = trace_of(engine)
    clock.advance(30)
    await regenerate(engine)
    regenerated = trace_of(engine)
    assert regenerated != original
    engine.select_alternative(0)
    assert trace_of(engine) == original


async def test_undo_removes_the_turns_traces(open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "Hello there!")
    engine.undo()
    with pytest.raises(EngineError, match="no turns yet"):
        engine.trace()


async def test_a_turn_that_does_not_exist_is_refused_naming_the_newest(
        open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "Hello there!")
    with pytest.raises(EngineError, match="no turn 7; its newest turn is turn 1") as caught:
        engine.trace(7)
    assert caught.value.code == "bad_request"


async def test_the_export_carries_the_traces_and_an_import_restores_them(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    engine = open_engine()
    await chat(engine, "Hello there!")
    await regenerate(engine)
    document = exported(engine)
    traces = document["content"]["turns"][0]["traces"]
    assert [t["position"] for t in traces] == [0, 1] and traces[0]["trace"]["format"] == 1
    CharacterEngine.import_document(document, data_dir=tmp_path / "copy")
    copy = open_engine(data_dir=tmp_path / "copy")
    assert trace_of(copy) == trace_of(engine)


async def test_a_snapshot_carries_the_traces(open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "Hello there!")
    before = trace_of(engine)
    engine.save("one")
    engine.reset(preserve_memories=False)
    engine.load("one")
    assert trace_of(engine) == before


async def test_a_stored_trace_is_a_few_kilobytes(open_engine: OpenEngine,
                                                  clock: ManualClock) -> None:
    engine = open_engine()
    await chat(engine, "My dog is called Biscuit and he loves the beach.")
    clock.advance(60)
    await chat(engine, "Do you remember my dog? Why does he love the beach so much?!")
    stored = json.dumps(msgspec.to_builtins(trace_of(engine)))
    assert 1_000 < len(stored) < 6_000
