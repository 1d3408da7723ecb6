"""What the mood changes in a reply's wording: interjections, end marks, stage directions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class MoodTone:
    """How a mood colours the wording: leading interjections (one shown from intensity
    0.35), the end mark it prefers for the opening ("" keeps the opening's own), and a
    stage direction shown when intensity >= 0.6."""

    leads: tuple[str, ...]
    end: str
    aside: str


MOOD_TONES: Final[dict[str, MoodTone]] = {
    "happy": MoodTone(("Oh!", "Well!"), "!", "*grins*"),
    "excited": MoodTone(("Ooh!", "Oh wow!"), "!", "*practically bouncing*"),
    "content": MoodTone(("Mm.", "Ah, nice."), "", "*settles back, smiling*"),
    "calm": MoodTone(("Ah.", "Mm."), ".", "*takes an unhurried breath*"),
    "neutral": MoodTone((), "", ""),
    "anxious": MoodTone(("Um…", "Oh — um."), "", "*fidgets with a sleeve*"),
    "stressed": MoodTone(("Right. Okay.", "Sorry — right."), ".", "*rubs the bridge of the nose*"),
    "sad": MoodTone(("Oh.", "Mm."), ".", "*smiles, a little thinly*"),
    "irritated": MoodTone(("Hm.", "Right."), ".", "*exhales sharply*"),
    "tired": MoodTone(("Mm…", "Ah…"), ".", "*stifles a yawn*"),
}
# Openings that already start with one get no mood interjection ("Oh! Oh, hi").
INTERJECTIONS: Final = frozenset(("oh", "ah", "ha", "ooh", "hmm", "mm-hm", "aw", "whoa",
                                  "ouch", "hey"))
POSITIVE_MOODS: Final = frozenset(("happy", "excited", "content"))
MOOD_LEAD_FROM: Final = 0.35
MOOD_ASIDE_FROM: Final = 0.6
SORE_VALENCE: Final = -0.4
"""At or below this valence a message reads as unkind: no cheerful colouring, cooler lines."""


def tone_of(mood: str) -> MoodTone:
    """The tone of ``mood``; a mood without one of its own reads as neutral."""
    return MOOD_TONES.get(mood, MOOD_TONES["neutral"])
