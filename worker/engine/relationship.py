"""Relationship with one user: trust, affinity, interaction count, last interaction quality.

Pure: ``update`` takes a relationship and a stimulus and returns a new relationship. A
``Relationship`` is a msgspec Struct, stored as it is (canonical JSON) in the relationships
table, with each turn (the one before it) and with each kept reply (the one after it).

* ``quality`` of an interaction, −1…1: ``0.5·valence + 0.4·warmth + 0.15·humour − 0.8·threat``.
* ``affinity`` (−1…1, liking) follows quality as an exponential moving average with weight 0.2.
* ``trust`` (0…1) grows slowly with good interactions (``+0.05·q·(1 − trust)``) and falls
  three times as fast with bad ones (``+0.15·q·trust``): trust is easier to lose than to win.
"""

from __future__ import annotations

from typing import Final

import msgspec

from worker.engine.appraisal import Stimulus

INITIAL_TRUST: Final = 0.5
AFFINITY_WEIGHT: Final = 0.2
TRUST_GAIN: Final = 0.05
TRUST_LOSS: Final = 0.15


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


class Relationship(msgspec.Struct, frozen=True):
    """Where the character stands with ``user``; ``last_interaction_at`` is unix seconds
    (``None`` before the first interaction)."""

    user: str
    trust: float = INITIAL_TRUST
    affinity: float = 0.0
    interaction_count: int = 0
    last_interaction_quality: float = 0.0
    last_interaction_at: float | None = None

    def describe(self) -> str:
        """The relationship in words, for the prompt and reports."""
        if self.interaction_count == 0:
            return f"You have not talked with {self.user} before; this is a first meeting."
        trust = ("deeply trust" if self.trust >= 0.8 else "trust" if self.trust >= 0.6
                 else "are unsure whether to trust" if self.trust >= 0.35 else "distrust")
        liking = ("are very fond of" if self.affinity >= 0.5 else "like" if self.affinity >= 0.15
                  else "feel neutral about" if self.affinity > -0.15
                  else "dislike" if self.affinity > -0.5 else "strongly dislike")
        last = ("pleasant" if self.last_interaction_quality >= 0.2
                else "unpleasant" if self.last_interaction_quality <= -0.2 else "ordinary")
        return (
            f"You {trust} {self.user} and {liking} them; you have talked "
            f"{self.interaction_count} time{'s' if self.interaction_count != 1 else ''}; "
            f"the last exchange was {last}."
        )


def interaction_quality(stimulus: Stimulus) -> float:
    """How good one message was for the relationship, −1…1."""
    raw = (0.5 * stimulus.valence + 0.4 * stimulus.warmth + 0.15 * stimulus.humour
           - 0.8 * stimulus.threat)
    return round(_clamp(raw, -1.0, 1.0), 4)


def update(relationship: Relationship, stimulus: Stimulus, *, now: float) -> Relationship:
    """The relationship after one more message from its user."""
    quality = interaction_quality(stimulus)
    if quality >= 0:
        trust = relationship.trust + TRUST_GAIN * quality * (1.0 - relationship.trust)
    else:
        trust = relationship.trust + TRUST_LOSS * quality * relationship.trust
    affinity = relationship.affinity + AFFINITY_WEIGHT * (quality - relationship.affinity)
    return msgspec.structs.replace(
        relationship,
        trust=round(_clamp(trust, 0.0, 1.0), 6),
        affinity=round(_clamp(affinity, -1.0, 1.0), 6),
        interaction_count=relationship.interaction_count + 1,
        last_interaction_quality=quality,
        last_interaction_at=now,
    )
