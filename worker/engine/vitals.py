"""The vitals model: six neurochemical levels, moved by stimuli, decaying to baseline.

Pure arithmetic on plain values; the caller supplies elapsed time (seconds), so tests drive
it with an injected clock.

* **Response.** A stimulus moves level *i* by
  ``Δᵢ = Σⱼ Wᵢⱼ · sⱼ · sensitivityᵢ · (0.5 + volatility)`` points, where ``s`` is the
  stimulus (valence −1…1, the rest 0…1), ``W`` is ``IMPULSE_WEIGHTS`` below, sensitivity comes
  from the character file (1.0 average, 0 inert, up to 5) and volatility is the file's
  ``mood_baseline.emotional_volatility`` (0…1, so the factor runs 0.5…1.5). The result is
  clamped to 0…100.
* **Decay.** Between messages each level relaxes exponentially toward its baseline:
  ``level(t) = baseline + (level₀ − baseline) · 0.5^(t / half_life_s)``. After one half-life
  the distance to baseline is halved, after two it is a quarter, and so on, whatever the
  number of reads in between (decay composes: decaying by a then b equals decaying by a + b).

* **Mood triggers.** A trigger word in the message (``worker.engine.appraisal``) is a
  ``MoodPull`` toward the levels of the mood it names: each level moves
  ``min(1, strength · sensitivityᵢ · (0.5 + volatility))`` of the way from where it is to
  the mood's level, pulls applied one after another in the file's order (so none
  overshoots its mood), on top of the stimulus' impulse. A strength of 0.6 at average
  sensitivity and volatility moves the levels 60 % of the way: usually enough for the mood
  to become the one named.

``VitalsModel.step`` is one turn's decay then response, returning the levels together with
what moved each one (``LevelChange``) — the facts a turn's trace records, computed by the
very calls that move the levels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from schemas.model import NEUROCHEMICALS, Character, MoodTrigger
from worker.engine.appraisal import Stimulus

LEVEL_MIN: Final = 0.0
LEVEL_MAX: Final = 100.0

# Points per unit of each stimulus axis, before sensitivity and volatility. Rows are levels.
# Dopamine rewards novelty and pleasure; serotonin tracks well-being and falls under threat;
# oxytocin is social warmth; endorphins answer humour; cortisol is stress; adrenaline arousal.
IMPULSE_WEIGHTS: Final[Mapping[str, Mapping[str, float]]] = {
    "dopamine": {"valence": 6.0, "curiosity": 10.0, "humour": 6.0, "arousal": 3.0},
    "serotonin": {"valence": 8.0, "warmth": 4.0, "threat": -10.0},
    "oxytocin": {"warmth": 14.0, "valence": 2.0, "threat": -10.0},
    "endorphins": {"humour": 14.0, "warmth": 3.0, "valence": 3.0},
    "cortisol": {"threat": 18.0, "valence": -6.0, "warmth": -4.0, "humour": -2.0},
    "adrenaline": {"arousal": 10.0, "threat": 10.0, "curiosity": 2.0},
}


def _clamp_level(value: float) -> float:
    return max(LEVEL_MIN, min(LEVEL_MAX, value))


class Vitals(msgspec.Struct, frozen=True):
    """Six levels, each 0–100. Immutable: every operation returns a new ``Vitals``. Stored
    (in the state and each turn's record) as an object of the six names."""

    dopamine: float = 50.0
    serotonin: float = 50.0
    oxytocin: float = 50.0
    endorphins: float = 50.0
    cortisol: float = 50.0
    adrenaline: float = 50.0

    @classmethod
    def from_mapping(cls, levels: Mapping[str, float]) -> Vitals:
        """From a ``{name: level}`` mapping; missing names keep 50, values are clamped."""
        return cls(**{name: _clamp_level(float(levels.get(name, 50.0))) for name in NEUROCHEMICALS})

    def as_dict(self) -> dict[str, float]:
        """``{name: level}`` in the canonical order of ``NEUROCHEMICALS``."""
        return {name: float(getattr(self, name)) for name in NEUROCHEMICALS}

    def minus(self, other: Vitals) -> dict[str, float]:
        """Per-level difference ``self − other``, rounded to 4 decimals for reports."""
        return {
            name: round(getattr(self, name) - getattr(other, name), 4) for name in NEUROCHEMICALS
        }


class LevelChange(msgspec.Struct, frozen=True):
    """How one level moved in one turn, in points (rounded to 4 decimals, for reports).

    ``committed`` is the level the last turn left; ``decay`` what the time since moved it
    (toward baseline); ``impulse`` the points each stimulus axis pushed, i.e. weight × axis ×
    ``sensitivity`` × (0.5 + volatility), and each mood trigger's pull (by its name),
    before clamping; ``delta`` what the stimulus moved
    it by once clamped to 0–100 (``after − committed − decay``, up to rounding)."""

    name: str
    committed: float
    decay: float
    sensitivity: float
    impulse: dict[str, float]
    delta: float
    after: float


@dataclass(frozen=True, slots=True)
class VitalsStep:
    """One turn of the model: the levels decayed to the turn's time (``decayed``), moved by
    its stimulus (``after``), and per level what did it (``changes``, in ``NEUROCHEMICALS``
    order). ``gain`` is the volatility factor 0.5 + volatility."""

    elapsed_s: float
    decayed: Vitals
    after: Vitals
    gain: float
    changes: tuple[LevelChange, ...]


@dataclass(frozen=True, slots=True)
class MoodPull:
    """A pull of the levels toward ``target`` (a mood's levels) with ``strength`` 0–1;
    ``name`` says what pulled, in the trace's ``impulse`` (``trigger "rain" → sad``)."""

    name: str
    target: Mapping[str, float]
    strength: float


@dataclass(frozen=True, slots=True)
class VitalsModel:
    """One character's baseline, sensitivities, volatility, the decay half-life and its mood
    triggers (for the appraisal to look for)."""

    baseline: Vitals
    sensitivities: Mapping[str, float]
    volatility: float
    half_life_s: float
    triggers: tuple[MoodTrigger, ...] = ()

    def __post_init__(self) -> None:
        if not self.half_life_s > 0:
            raise ValueError(f"half_life_s must be > 0 seconds, got {self.half_life_s!r}")

    @classmethod
    def for_character(cls, character: Character, *, half_life_s: float) -> VitalsModel:
        chemistry = character.neurochemistry
        return cls(
            baseline=Vitals.from_mapping(chemistry.baseline.as_dict()),
            sensitivities=chemistry.sensitivities.as_dict(),
            volatility=character.mood_baseline.emotional_volatility,
            half_life_s=half_life_s,
            triggers=tuple(character.mood_baseline.triggers),
        )

    def impulse(self, stimulus: Stimulus) -> dict[str, float]:
        """The points each level would move for ``stimulus`` (before clamping)."""
        axes = stimulus.as_dict()
        gain = 0.5 + self.volatility
        return {
            name: sum(weight * axes[axis] for axis, weight in IMPULSE_WEIGHTS[name].items())
            * self.sensitivities[name]
            * gain
            for name in NEUROCHEMICALS
        }

    def pulled(self, levels: Vitals, pulls: Sequence[MoodPull]) -> dict[str, dict[str, float]]:
        """Per level, the points each of ``pulls`` moves it from ``levels`` (by name)."""
        gain = 0.5 + self.volatility
        moved: dict[str, dict[str, float]] = {}
        for name in NEUROCHEMICALS:
            level = float(getattr(levels, name))
            moved[name] = {}
            for pull in pulls:
                fraction = min(1.0, pull.strength * gain * self.sensitivities[name])
                points = fraction * (pull.target[name] - level)
                moved[name][pull.name] = moved[name].get(pull.name, 0.0) + points
                level += points
        return moved

    def respond(self, levels: Vitals, stimulus: Stimulus, pulls: Sequence[MoodPull] = ()
                ) -> Vitals:
        """``levels`` moved by ``stimulus`` and ``pulls``, each clamped to 0–100."""
        impulse = self.impulse(stimulus)
        pulled = self.pulled(levels, pulls)
        return Vitals(**{
            name: _clamp_level(getattr(levels, name) + impulse[name]
                               + sum(pulled[name].values()))
            for name in NEUROCHEMICALS
        })

    def step(self, committed: Vitals, elapsed_s: float, stimulus: Stimulus,
             pulls: Sequence[MoodPull] = ()) -> VitalsStep:
        """``committed`` decayed for ``elapsed_s`` seconds, then moved by ``stimulus`` and
        ``pulls`` (``decay`` then ``respond``), with what moved each level."""
        decayed = self.decay(committed, elapsed_s)
        after = self.respond(decayed, stimulus, pulls)
        pulled = self.pulled(decayed, pulls)
        axes = stimulus.as_dict()
        gain = 0.5 + self.volatility
        changes = tuple(
            LevelChange(
                name=name,
                committed=round(getattr(committed, name), 4),
                decay=round(getattr(decayed, name) - getattr(committed, name), 4),
                sensitivity=self.sensitivities[name],
                impulse={**{axis: round(weight * axes[axis] * self.sensitivities[name] * gain, 4)
                            for axis, weight in IMPULSE_WEIGHTS[name].items() if axes[axis]},
                         **{pull: round(points, 4) for pull, points in pulled[name].items()}},
                delta=round(getattr(after, name) - getattr(decayed, name), 4),
                after=round(getattr(after, name), 4),
            )
            for name in NEUROCHEMICALS
        )
        return VitalsStep(elapsed_s=elapsed_s, decayed=decayed, after=after, gain=gain,
                          changes=changes)

    def decay(self, levels: Vitals, elapsed_s: float) -> Vitals:
        """``levels`` after ``elapsed_s`` seconds of relaxing toward baseline.

        Negative elapsed time (a clock stepped backwards) decays nothing rather than pushing
        levels away from baseline.
        """
        if elapsed_s <= 0:
            return levels
        remaining = math.pow(0.5, elapsed_s / self.half_life_s)
        return Vitals(
            **{
                name: getattr(self.baseline, name)
                + (getattr(levels, name) - getattr(self.baseline, name)) * remaining
                for name in NEUROCHEMICALS
            }
        )
