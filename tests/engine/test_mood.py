import pytest

from worker.engine.mood import HYSTERESIS_POINTS, MOOD_PROTOTYPES, choose_mood, derive_mood
from worker.engine.vitals import Vitals

NAMES = ("dopamine", "serotonin", "oxytocin", "endorphins", "cortisol", "adrenaline")


def at(prototype: tuple[float, ...]) -> Vitals:
    return Vitals.from_mapping(dict(zip(NAMES, prototype, strict=True)))


@pytest.mark.parametrize("label", list(MOOD_PROTOTYPES))
def test_levels_at_a_prototype_give_that_mood(label: str) -> None:
    assert derive_mood(at(MOOD_PROTOTYPES[label])).label == label


def test_all_50_is_neutral_with_zero_intensity() -> None:
    mood = derive_mood(Vitals())
    assert (mood.label, mood.intensity) == ("neutral", 0.0)


def test_intensity_grows_with_distance_from_neutral_and_caps_at_1() -> None:
    mild = derive_mood(Vitals(dopamine=60.0)).intensity
    strong = derive_mood(Vitals(dopamine=90.0, serotonin=90.0)).intensity
    extreme = derive_mood(Vitals(0.0, 0.0, 0.0, 0.0, 100.0, 100.0)).intensity
    assert 0.0 < mild < strong < extreme == 1.0


def test_current_mood_is_kept_near_a_boundary() -> None:
    happy, content = at(MOOD_PROTOTYPES["happy"]), at(MOOD_PROTOTYPES["content"])
    # Halfway between happy and content: both are about equally close.
    midpoint = Vitals.from_mapping({
        n: (getattr(happy, n) + getattr(content, n)) / 2 for n in NAMES})
    assert derive_mood(midpoint, previous="happy").label == "happy"
    assert derive_mood(midpoint, previous="content").label == "content"


def test_mood_changes_once_another_is_clearly_closer() -> None:
    stressed = at(MOOD_PROTOTYPES["stressed"])
    assert derive_mood(stressed, previous="happy").label == "stressed"


def test_hysteresis_margin_is_positive() -> None:
    assert HYSTERESIS_POINTS > 0


def test_unknown_previous_label_is_ignored() -> None:
    assert derive_mood(Vitals(), previous="mischievous").label == "neutral"


def _midpoint() -> Vitals:
    happy, content = at(MOOD_PROTOTYPES["happy"]), at(MOOD_PROTOTYPES["content"])
    return Vitals.from_mapping({n: (getattr(happy, n) + getattr(content, n)) / 2 for n in NAMES})


def test_the_choice_says_when_hysteresis_held_the_previous_mood() -> None:
    for previous in ("happy", "content"):
        choice = choose_mood(_midpoint(), previous=previous)
        assert choice.label == previous
        assert choice.held == (choice.nearest != previous)
        assert choice.previous_distance is not None
        assert 0 <= choice.previous_distance - choice.nearest_distance <= HYSTERESIS_POINTS
    assert any(choose_mood(_midpoint(), previous=p).held for p in ("happy", "content"))


def test_a_mood_clearly_beaten_is_not_held() -> None:
    choice = choose_mood(at(MOOD_PROTOTYPES["stressed"]), previous="happy")
    assert (choice.label, choice.nearest, choice.held) == ("stressed", "stressed", False)
    assert choice.previous_distance is not None
    assert choice.previous_distance - choice.nearest_distance > HYSTERESIS_POINTS


def test_the_choice_is_the_mood_derive_mood_gives() -> None:
    for levels, previous in ((_midpoint(), "happy"), (Vitals(), None), (Vitals(), "mischievous")):
        assert choose_mood(levels, previous).mood == derive_mood(levels, previous)
    assert choose_mood(Vitals(), previous="mischievous").previous is None
