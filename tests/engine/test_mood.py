import pytest

from worker.engine.mood import HYSTERESIS_POINTS, MOOD_PROTOTYPES, derive_mood
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
