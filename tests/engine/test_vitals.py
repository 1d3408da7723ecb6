import math

import pytest

from tests.engine.characters import calm_character, character, sensitive_character
from worker.engine.appraisal import appraise
from worker.engine.vitals import IMPULSE_WEIGHTS, Vitals, VitalsModel

# message, levels that must rise, levels that must fall
RESPONSES = [
    ("You are a stupid useless idiot and I hate you", ("cortisol", "adrenaline"),
     ("serotonin", "oxytocin")),
    ("I really appreciate you, friend, thank you", ("oxytocin", "serotonin"), ("cortisol",)),
    ("How do tides work, and why twice a day?", ("dopamine",), ()),
    ("lol that joke was hilarious haha", ("endorphins", "dopamine"), ("cortisol",)),
]
NEUTRAL = "The train leaves at five"


def model_for(kind: str) -> VitalsModel:
    c = {"sensitive": sensitive_character, "calm": calm_character}[kind]()
    return VitalsModel.for_character(c, half_life_s=600.0)


@pytest.mark.parametrize(("message", "rise", "fall"), RESPONSES)
@pytest.mark.parametrize("kind", ["sensitive", "calm"])
def test_message_moves_expected_levels_in_expected_direction(
    kind: str, message: str, rise: tuple[str, ...], fall: tuple[str, ...]
) -> None:
    model = model_for(kind)
    before = model.baseline
    after = model.respond(before, appraise(message).stimulus)
    delta = after.minus(before)
    for name in rise:
        assert delta[name] > 0, (name, delta)
    for name in fall:
        assert delta[name] < 0, (name, delta)


@pytest.mark.parametrize(("message", "rise", "fall"), RESPONSES)
def test_sensitive_character_moves_more_than_calm_one(
    message: str, rise: tuple[str, ...], fall: tuple[str, ...]
) -> None:
    stimulus = appraise(message).stimulus
    sensitive, calm = model_for("sensitive"), model_for("calm")
    sensitive_delta = sensitive.respond(sensitive.baseline, stimulus).minus(sensitive.baseline)
    calm_delta = calm.respond(calm.baseline, stimulus).minus(calm.baseline)
    for name in (*rise, *fall):
        assert abs(sensitive_delta[name]) > abs(calm_delta[name]) * 2, name


@pytest.mark.parametrize("kind", ["sensitive", "calm"])
def test_neutral_message_barely_moves_anything(kind: str) -> None:
    model = model_for(kind)
    delta = model.respond(model.baseline, appraise(NEUTRAL).stimulus).minus(model.baseline)
    assert all(abs(v) < 1.0 for v in delta.values()), delta


def test_decay_halves_distance_to_baseline_after_one_half_life() -> None:
    model = VitalsModel.for_character(character(), half_life_s=600.0)
    excited = Vitals(dopamine=90.0, serotonin=30.0, oxytocin=50.0, endorphins=70.0,
                     cortisol=10.0, adrenaline=100.0)
    decayed = model.decay(excited, 600.0)
    for name, level in excited.as_dict().items():
        base = getattr(model.baseline, name)
        assert math.isclose(getattr(decayed, name) - base, (level - base) / 2, abs_tol=1e-9)


def test_decay_composes_so_reading_often_changes_nothing() -> None:
    model = VitalsModel.for_character(character(), half_life_s=300.0)
    start = Vitals(dopamine=95.0, cortisol=5.0)
    stepwise = start
    for _ in range(10):
        stepwise = model.decay(stepwise, 45.0)
    at_once = model.decay(start, 450.0)
    for name in at_once.as_dict():
        assert math.isclose(getattr(stepwise, name), getattr(at_once, name), abs_tol=1e-9)


def test_decay_with_backwards_clock_changes_nothing() -> None:
    model = VitalsModel.for_character(character(), half_life_s=300.0)
    start = Vitals(dopamine=95.0)
    assert model.decay(start, -50.0) == start


def test_levels_are_clamped_to_0_100() -> None:
    model = model_for("sensitive")
    stimulus = appraise("I HATE YOU, STUPID IDIOT MORON, SHUT UP!!!").stimulus
    levels = model.baseline
    for _ in range(20):
        levels = model.respond(levels, stimulus)
    assert all(0.0 <= v <= 100.0 for v in levels.as_dict().values())
    assert levels.cortisol == 100.0


def test_baseline_and_sensitivity_come_from_the_character_file() -> None:
    c = character(neurochemistry={"baseline": {"dopamine": 80, "cortisol": 20},
                                  "sensitivities": {"oxytocin": 3.0}})
    model = VitalsModel.for_character(c, half_life_s=60.0)
    assert model.baseline.dopamine == 80.0
    assert model.baseline.cortisol == 20.0
    assert model.sensitivities["oxytocin"] == 3.0


def test_nonpositive_half_life_is_refused() -> None:
    with pytest.raises(ValueError, match="half_life_s"):
        VitalsModel.for_character(character(), half_life_s=0.0)


def test_a_step_is_decay_then_response_with_what_moved_each_level() -> None:
    model = model_for("sensitive")
    committed = model.respond(model.baseline, appraise("You are wonderful, thank you!").stimulus)
    stimulus = appraise("You stupid idiot").stimulus
    step = model.step(committed, 300.0, stimulus)
    assert step.decayed == model.decay(committed, 300.0)
    assert step.after == model.respond(step.decayed, stimulus)
    assert step.gain == pytest.approx(0.5 + model.volatility)
    for change in step.changes:
        assert change.committed == pytest.approx(getattr(committed, change.name), abs=1e-4)
        assert change.decay == pytest.approx(
            getattr(step.decayed, change.name) - getattr(committed, change.name), abs=1e-4)
        assert change.delta == pytest.approx(sum(change.impulse.values()), abs=1e-3)
        assert change.after == pytest.approx(getattr(step.after, change.name), abs=1e-4)


def test_an_impulse_names_each_axis_push_as_weight_axis_sensitivity_and_gain() -> None:
    model = model_for("calm")
    stimulus = appraise("You stupid idiot").stimulus
    cortisol = next(c for c in model.step(model.baseline, 0.0, stimulus).changes
                    if c.name == "cortisol")
    gain = 0.5 + model.volatility
    assert cortisol.impulse["threat"] == pytest.approx(
        IMPULSE_WEIGHTS["cortisol"]["threat"] * stimulus.threat * 0.5 * gain, abs=1e-4)
    assert "humour" not in cortisol.impulse  # an axis at 0 pushes nothing
    assert all(c.decay == 0.0 for c in model.step(model.baseline, 0.0, stimulus).changes)


def test_a_clamped_level_moves_less_than_it_was_pushed() -> None:
    model = model_for("sensitive")
    high = Vitals.from_mapping({"cortisol": 99.0})
    cortisol = next(c for c in model.step(high, 0.0, appraise("I hate you, idiot!").stimulus)
                    .changes if c.name == "cortisol")
    assert cortisol.after == 100.0 and cortisol.delta == pytest.approx(1.0)
    assert sum(cortisol.impulse.values()) > cortisol.delta
