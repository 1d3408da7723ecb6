import pytest

from worker.engine.mood import HYSTERESIS_POINTS, MOOD_PROTOTYPES, choose_mood, derive_mood
from worker.engine.vitals import Vitals

NAMES = ("dopamine", "serotonin", "oxytocin", "endorphins", "cortisol", "adrenaline")
REST = Vitals()
"""A character resting at the all-50 neutral point."""


def at(prototype: tuple[float, ...]) -> Vitals:
    return Vitals.from_mapping(dict(zip(NAMES, prototype, strict=True)))


@pytest.mark.parametrize("label", list(MOOD_PROTOTYPES))
def test_levels_at_a_prototype_give_that_mood(label: str) -> None:
    assert derive_mood(at(MOOD_PROTOTYPES[label]), REST).label == label


def test_all_50_is_neutral_with_zero_intensity() -> None:
    mood = derive_mood(Vitals(), REST)
    assert (mood.label, mood.intensity) == ("neutral", 0.0)


def test_intensity_grows_with_distance_from_neutral_and_caps_at_1() -> None:
    mild = derive_mood(Vitals(dopamine=60.0), REST).intensity
    strong = derive_mood(Vitals(dopamine=90.0, serotonin=90.0), REST).intensity
    extreme = derive_mood(Vitals(0.0, 0.0, 0.0, 0.0, 100.0, 100.0), REST).intensity
    assert 0.0 < mild < strong < extreme == 1.0


def test_current_mood_is_kept_near_a_boundary() -> None:
    happy, content = at(MOOD_PROTOTYPES["happy"]), at(MOOD_PROTOTYPES["content"])
    # Halfway between happy and content: both are about equally close.
    midpoint = Vitals.from_mapping({
        n: (getattr(happy, n) + getattr(content, n)) / 2 for n in NAMES})
    assert derive_mood(midpoint, REST, previous="happy").label == "happy"
    assert derive_mood(midpoint, REST, previous="content").label == "content"


def test_mood_changes_once_another_is_clearly_closer() -> None:
    stressed = at(MOOD_PROTOTYPES["stressed"])
    assert derive_mood(stressed, REST, previous="happy").label == "stressed"


def test_hysteresis_margin_is_positive() -> None:
    assert HYSTERESIS_POINTS > 0


def test_unknown_previous_label_is_ignored() -> None:
    assert derive_mood(Vitals(), REST, previous="mischievous").label == "neutral"


def _midpoint() -> Vitals:
    happy, content = at(MOOD_PROTOTYPES["happy"]), at(MOOD_PROTOTYPES["content"])
    return Vitals.from_mapping({n: (getattr(happy, n) + getattr(content, n)) / 2 for n in NAMES})


def test_the_choice_says_when_hysteresis_held_the_previous_mood() -> None:
    for previous in ("happy", "content"):
        choice = choose_mood(_midpoint(), REST, previous=previous)
        assert choice.label == previous
        assert choice.held == (choice.nearest != previous)
        assert choice.previous_distance is not None
        assert 0 <= choice.previous_distance - choice.nearest_distance <= HYSTERESIS_POINTS
    assert any(choose_mood(_midpoint(), REST, previous=p).held for p in ("happy", "content"))


def test_a_mood_clearly_beaten_is_not_held() -> None:
    choice = choose_mood(at(MOOD_PROTOTYPES["stressed"]), REST, previous="happy")
    assert (choice.label, choice.nearest, choice.held) == ("stressed", "stressed", False)
    assert choice.previous_distance is not None
    assert choice.previous_distance - choice.nearest_distance > HYSTERESIS_POINTS


def test_the_choice_is_the_mood_derive_mood_gives() -> None:
    for levels, previous in ((_midpoint(), "happy"), (Vitals(), None), (Vitals(), "mischievous")):
        assert choose_mood(levels, REST, previous).mood == derive_mood(levels, REST, previous)
    assert choose_mood(Vitals(), REST, previous="mischievous").previous is None


def test_a_character_at_its_own_resting_state_has_zero_intensity() -> None:
    calm = at(MOOD_PROTOTYPES["calm"])
    mood = derive_mood(calm, calm)
    assert (mood.label, mood.intensity) == ("calm", 0.0)


def test_intensity_is_the_distance_from_the_characters_baseline_not_from_50() -> None:
    calm = at(MOOD_PROTOTYPES["calm"])
    moved = Vitals.from_mapping({**calm.as_dict(), "cortisol": calm.cortisol + 15.0})
    # rms over six levels of one 15-point move: 15 / sqrt(6) ≈ 6.12 points of 25.
    assert derive_mood(moved, calm).intensity == pytest.approx(15 / 6**0.5 / 25, abs=1e-4)
    assert derive_mood(moved, calm).intensity < derive_mood(moved, REST).intensity
