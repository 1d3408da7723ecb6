"""A mood trigger the character's file names, found in a message, pushes the mood it names.

Pure parts (finding, pulling) are called directly; the engine's part is one real turn with
the scripted backend, read back from its trace.
"""

from __future__ import annotations

import msgspec
import pytest

from client import render
from client.interface import TraceReport
from schemas.model import NEUROCHEMICALS, Character, MoodTrigger
from tests.engine.characters import character
from tests.engine.conftest import OpenEngine, chat
from worker.engine.appraisal import appraise, find_triggers
from worker.engine.mood import MOOD_PROTOTYPES, choose_mood, pulls_for
from worker.engine.relationship import Relationship
from worker.engine.state import EngineState
from worker.engine.turn_prepare import plan_turn
from worker.engine.vitals import MoodPull, Vitals, VitalsModel

NEUTRAL_MESSAGE = "I have a meeting at three tomorrow."


def nurse(*triggers: dict[str, object]) -> Character:
    return character(mood_baseline={"default_state": "calm", "triggers": list(triggers)})


def mood_after(c: Character, message: str) -> str:
    model = VitalsModel.for_character(c, half_life_s=600.0)
    state = EngineState.initial(c, now=0.0)
    plan = plan_turn(model, state, Relationship(user="sam"), message, now=0.0)
    return plan.mood.label


def test_a_trigger_is_found_as_whole_words_whatever_the_case() -> None:
    triggers = [MoodTrigger(trigger="rain", mood="sad"),
                MoodTrigger(trigger="code blue", mood="stressed")]
    assert [h.trigger for h in find_triggers("CODE  Blue in bay 3!", triggers)] == ["code blue"]
    assert find_triggers("a rainbow over the drainpipe", triggers) == ()


def test_a_plural_of_a_trigger_counts() -> None:
    [hit] = find_triggers("Two deadlines today", [MoodTrigger(trigger="deadline",
                                                              mood="nervous")])
    assert (hit.trigger, hit.mood, hit.label) == ("deadline", "nervous", "anxious")


def test_the_appraisal_reports_the_triggers_of_the_whole_message() -> None:
    long = " ".join(["word"] * 1000 + ["paperwork"] + ["word"] * 1000)
    [hit] = appraise(long, [MoodTrigger(trigger="paperwork", mood="stressed")]).triggers
    assert hit.label == "stressed"


@pytest.mark.parametrize(("trigger", "mood", "label"), [
    ("paperwork", "stressed", "stressed"), ("rain", "melancholy", "sad"),
    ("lies", "furious", "irritated"), ("grading", "tired", "tired"),
    ("deadline", "nervous", "anxious"), ("thank you", "happy", "happy"),
])
def test_a_trigger_word_makes_the_mood_the_one_it_names(trigger: str, mood: str,
                                                        label: str) -> None:
    c = nurse({"trigger": trigger, "mood": mood})
    assert mood_after(c, NEUTRAL_MESSAGE) != label
    assert mood_after(c, f"{NEUTRAL_MESSAGE} Also: {trigger}.") == label


def test_a_trigger_naming_no_mood_we_know_moves_nothing() -> None:
    c = nurse({"trigger": "rain", "mood": "like a Tuesday"},
              {"trigger": "frost"})
    model = VitalsModel.for_character(c, half_life_s=600.0)
    hits = appraise("rain and frost", model.triggers).triggers
    assert [(h.trigger, h.label) for h in hits] == [("rain", None), ("frost", None)]
    assert pulls_for(hits) == ()


def test_a_pull_moves_each_level_part_of_the_way_to_the_moods_levels() -> None:
    model = VitalsModel(baseline=Vitals(), sensitivities=dict.fromkeys(NEUROCHEMICALS, 1.0),
                        volatility=0.5, half_life_s=600.0)
    target = dict(zip(NEUROCHEMICALS, MOOD_PROTOTYPES["sad"], strict=True))
    moved = model.pulled(Vitals(), [MoodPull("rain", target, strength=0.5)])
    for name in NEUROCHEMICALS:
        assert moved[name]["rain"] == pytest.approx(0.5 * (target[name] - 50.0))


def test_a_pull_never_overshoots_the_mood_it_pulls_toward() -> None:
    model = VitalsModel(baseline=Vitals(), sensitivities=dict.fromkeys(NEUROCHEMICALS, 5.0),
                        volatility=1.0, half_life_s=600.0)
    target = dict(zip(NEUROCHEMICALS, MOOD_PROTOTYPES["anxious"], strict=True))
    pull = MoodPull("x", target, strength=1.0)
    after = model.respond(Vitals(), appraise("").stimulus, [pull, pull])
    assert after.as_dict() == pytest.approx(target)
    assert choose_mood(after, Vitals()).label == "anxious"


def test_an_inert_level_is_not_pulled() -> None:
    sensitivities = dict.fromkeys(NEUROCHEMICALS, 1.0) | {"cortisol": 0.0}
    model = VitalsModel(baseline=Vitals(), sensitivities=sensitivities, volatility=0.5,
                        half_life_s=600.0)
    target = dict(zip(NEUROCHEMICALS, MOOD_PROTOTYPES["stressed"], strict=True))
    assert model.pulled(Vitals(), [MoodPull("x", target, 1.0)])["cortisol"]["x"] == 0.0


async def test_a_turns_trace_names_the_trigger_and_its_pull(open_engine: OpenEngine) -> None:
    engine = open_engine(nurse({"trigger": "code blue", "mood": "stressed", "strength": 0.7}))
    result = await chat(engine, "There is a code blue in bay three.")
    assert result.mood == "stressed"
    trace = engine.trace(None).trace
    assert trace is not None
    [hit] = trace.appraisal.triggers
    assert (hit.trigger, hit.label, hit.strength) == ("code blue", "stressed", 0.7)
    cortisol = next(level for level in trace.vitals.levels if level.name == "cortisol")
    assert cortisol.impulse['trigger "code blue" → stressed'] > 0
    report = TraceReport(turn_id=1, turn_index=1, user="sam", user_message="…",
                         created_at=None, trace=msgspec.to_builtins(trace))
    assert 'triggers   "code blue" → stressed, pull 0.70' in render.trace_plain(report)
