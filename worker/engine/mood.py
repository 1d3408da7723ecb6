"""Mood: a label and an intensity derived from the vitals, deterministically, with hysteresis.

Each mood is a prototype point in the six-level space (``MOOD_PROTOTYPES``). The mood is the
nearest prototype (Euclidean distance over the six levels, ties broken by table order), with
one twist so it does not flicker: the current label is kept until another prototype is
closer by more than ``HYSTERESIS_POINTS``. Intensity is how far the levels are from the
character's own resting state, its baseline: ``min(1, rms(level − baseline) / 25)`` — 0 at
rest, whatever the label, so a calm character at rest is "calm (0%)", not "calm (100%)".

No randomness, no hashing, no set iteration: the same levels and previous label give the
same mood in every process. ``choose_mood`` returns the decision with its reasons (the
nearest prototype, both distances, whether hysteresis held the previous label) for a turn's
trace; ``derive_mood`` is its label and intensity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from schemas.model import NEUROCHEMICALS
from schemas.moods import MOOD_LABELS
from worker.engine.appraisal import TriggerHit
from worker.engine.vitals import MoodPull, Vitals

#: Prototype levels: dopamine, serotonin, oxytocin, endorphins, cortisol, adrenaline.
MOOD_PROTOTYPES: Final[Mapping[str, tuple[float, float, float, float, float, float]]] = {
    "neutral": (50, 50, 50, 50, 50, 50),
    "happy": (70, 68, 62, 62, 35, 50),
    "excited": (78, 58, 58, 65, 40, 75),
    "content": (60, 70, 62, 58, 30, 35),
    "calm": (50, 65, 55, 52, 28, 25),
    "anxious": (42, 38, 45, 42, 68, 70),
    "stressed": (45, 40, 42, 40, 78, 62),
    "sad": (32, 30, 42, 38, 58, 32),
    "irritated": (45, 35, 30, 40, 70, 65),
    "tired": (35, 45, 48, 35, 50, 20),
}
MOODS: Final = tuple(MOOD_PROTOTYPES)
if MOODS != MOOD_LABELS:
    raise AssertionError("MOOD_PROTOTYPES must list schemas.moods.MOOD_LABELS, in order")

#: How much closer (in level points of Euclidean distance) a new mood must be to replace
#: the current one.
HYSTERESIS_POINTS: Final = 4.0
#: RMS deviation from the baseline (level points) that counts as full intensity.
FULL_INTENSITY_RMS: Final = 25.0


@dataclass(frozen=True, slots=True)
class Mood:
    label: str
    intensity: float  # 0–1


def _distance(levels: Vitals, prototype: tuple[float, ...]) -> float:
    return math.sqrt(
        sum((getattr(levels, name) - p) ** 2 for name, p in zip(NEUROCHEMICALS, prototype,
                                                                strict=True))
    )


def intensity_of(levels: Vitals, baseline: Vitals) -> float:
    """How far ``levels`` are from the character's resting ``baseline``, 0–1, rounded to 4
    decimals: the RMS deviation over the six levels over ``FULL_INTENSITY_RMS``, capped."""
    squares = sum((getattr(levels, name) - getattr(baseline, name)) ** 2
                  for name in NEUROCHEMICALS)
    return round(min(1.0, math.sqrt(squares / len(NEUROCHEMICALS)) / FULL_INTENSITY_RMS), 4)


class MoodChoice(msgspec.Struct, frozen=True):
    """Why the mood is ``label``: the ``nearest`` prototype at ``nearest_distance`` (level
    points), the ``previous`` label at ``previous_distance`` (``None``: no previous label, or
    not one of ours), and ``held``: hysteresis kept ``previous`` although ``nearest`` was
    closer (by no more than ``hysteresis_points``). Distances rounded to 4 decimals."""

    label: str
    intensity: float
    nearest: str
    nearest_distance: float
    previous: str | None
    previous_distance: float | None
    held: bool
    hysteresis_points: float = HYSTERESIS_POINTS

    @property
    def mood(self) -> Mood:
        return Mood(label=self.label, intensity=self.intensity)


def choose_mood(levels: Vitals, baseline: Vitals, previous: str | None = None) -> MoodChoice:
    """The mood for ``levels`` of a character resting at ``baseline``, and why;
    ``previous`` (a label) is kept unless clearly beaten."""
    distances = {label: _distance(levels, proto) for label, proto in MOOD_PROTOTYPES.items()}
    best = min(MOODS, key=lambda label: distances[label])  # min keeps the first of equals
    label = best
    known = previous if previous in distances else None
    if known is not None and distances[known] - distances[best] <= HYSTERESIS_POINTS:
        label = known
    return MoodChoice(
        label=label, intensity=intensity_of(levels, baseline), nearest=best,
        nearest_distance=round(distances[best], 4), previous=known,
        previous_distance=None if known is None else round(distances[known], 4),
        held=label != best,
    )


def derive_mood(levels: Vitals, baseline: Vitals, previous: str | None = None) -> Mood:
    """The mood for ``levels`` of a character resting at ``baseline``; ``previous`` (a
    label) is kept unless clearly beaten."""
    return choose_mood(levels, baseline, previous).mood


def pulls_for(hits: Sequence[TriggerHit]) -> tuple[MoodPull, ...]:
    """The pull toward its mood of every trigger found that names a mood we model."""
    return tuple(
        MoodPull(name=f'trigger "{hit.trigger}" → {hit.label}',
                 target=dict(zip(NEUROCHEMICALS, MOOD_PROTOTYPES[hit.label], strict=True)),
                 strength=hit.strength)
        for hit in hits if hit.label is not None
    )
