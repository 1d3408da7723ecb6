"""Mood triggers as authors write them → ``MoodTrigger`` items (``{trigger, mood, strength}``).

The seed's files say what moves a character's mood in several shapes, under
``mood_baseline.mood_triggers`` and ``mood_baseline.triggered_by``; all of these are read,
without a warning (one trigger per word or phrase):

    mood_triggers: {stressed: [code blue, paperwork], happy: thank you}   # mood → words
    mood_triggers: {deadlines: anxious, praise: happy}                  # word → mood
    mood_triggers:                                                      # items
      - {trigger: soggy, mood: irritated, intensity: 0.8}
      - "lies: irritated"                     # also "lies -> irritated", "lies → irritated"
    mood_triggers: "grading: tired; recess: happy"                      # text, ; between
    triggered_by: [a messy dataset, puzzles]  # no mood named: the file's default_state

A word or phrase list in text is split at commas. ``mood_label`` decides which side of a
``key: value`` pair is the mood when both are single words (the one that names a mood).
A trigger that names no mood, or a mood greenroom does not know, is kept (it reaches the
prompt) and reported: it moves no mood.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from schemas.moods import MOOD_LABELS, mood_label
from schemas.problems import Problem
from schemas.readable import readable
from schemas.yaml_io import as_text

TRIGGER_KEYS: Final = ("trigger", "triggers", "word", "words", "keyword", "keywords", "cue",
                       "cues", "phrase", "phrases", "stimulus", "situation", "event")
MOOD_KEYS: Final = ("mood", "emotion", "feeling", "response", "reaction", "effect",
                    "becomes", "result", "shifts_to")
STRENGTH_KEYS: Final = ("strength", "intensity", "weight")

_ARROW: Final = re.compile(r"\s*(?:->|→|=>|:)\s*")
_PIECES: Final = re.compile(r"[;\n]+")
SourcePath = tuple[str, ...]


@dataclass
class ReadTriggers:
    """The triggers found, each with the source path it came from, and the warnings."""

    items: list[dict[str, Any]] = field(default_factory=list)
    sources: list[SourcePath] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_triggers(value: Any, where: SourcePath, default_mood: str | None, file: str,
                  into: ReadTriggers) -> None:
    """Add the triggers ``value`` (written at ``where``) describes to ``into``; a trigger
    that names no mood gets ``default_mood``."""
    _Reader(file, into).value(value, where, default_mood)


class _Reader:
    def __init__(self, file: str, into: ReadTriggers) -> None:
        self.file = file
        self.into = into

    def add(self, item: dict[str, Any], where: SourcePath) -> None:
        self.into.items.append(item)
        self.into.sources.append(where)
        mood = item.get("mood")
        trigger = as_text(item.get("trigger")) or readable(
            {k: v for k, v in item.items() if k not in ("mood", "strength")})
        if mood is None:
            self.warn(where, f'expected a mood for "{trigger}", found none; it reaches the '
                      f"prompt but moves no mood (write `{trigger}: anxious`, say)", "no-mood")
        elif isinstance(mood, str) and mood_label(mood) is None:
            self.warn(where, f"expected a mood greenroom knows ({', '.join(MOOD_LABELS)}, or "
                      f'a word for one), found "{mood}"; the trigger reaches the prompt but '
                      "moves no mood", "unknown-mood")

    def warn(self, where: SourcePath, message: str, code: str) -> None:
        self.into.problems.append(Problem(self.file, ".".join(where), message,
                                          severity="warning", code=code))

    def value(self, value: Any, where: SourcePath, mood: str | None) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                self.entry(key, item, (*where, str(key)), mood)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.item(item, (*where, str(index)), mood)
        elif value is not None:
            for piece in _PIECES.split(as_text(value) or str(value)):
                if piece.strip():
                    self.text(piece, where, mood)

    def words(self, text: str, where: SourcePath, mood: str | None, extra: Mapping[str, Any]
              ) -> None:
        for word in (w.strip() for w in text.split(",")):
            if word:
                self.add({"trigger": word, "mood": mood, **extra}, where)

    def text(self, text: str, where: SourcePath, mood: str | None) -> None:
        parts = _ARROW.split(text.strip(), maxsplit=1)
        if len(parts) == 2 and parts[0] and parts[1]:
            self.words(parts[0], where, parts[1].strip(), {})
        else:
            self.words(text, where, mood, {})

    def entry(self, key: Any, value: Any, where: SourcePath, mood: str | None) -> None:
        name = as_text(key) or str(key)
        text = as_text(value)
        if isinstance(value, bool) or value is None:
            self.add({"trigger": name, "mood": mood}, where)
        elif isinstance(value, int | float):
            self.add({"trigger": name, "mood": mood, "strength": value}, where)
        elif text is not None:
            word_to_mood = (mood_label(name) is None and mood_label(text) is not None
                            and "," not in text)
            if word_to_mood:
                self.add({"trigger": name, "mood": text}, where)
            else:
                self.words(text, where, name, {})
        else:
            self.value(value, where, name)

    def item(self, item: Any, where: SourcePath, mood: str | None) -> None:
        if not isinstance(item, Mapping):
            if isinstance(item, list):
                self.value(item, where, mood)
            elif item is not None:
                self.text(as_text(item) or str(item), where, mood)
            return
        keys = {str(k).lower(): k for k in item}
        trigger_key = next((keys[k] for k in TRIGGER_KEYS if k in keys), None)
        mood_key = next((keys[k] for k in MOOD_KEYS if k in keys), None)
        if trigger_key is None and mood_key is None and len(item) == 1:
            ((key, value),) = item.items()
            self.entry(key, value, where, mood)
            return
        strength_key = next((keys[k] for k in STRENGTH_KEYS if k in keys), None)
        rest = {k: v for k, v in item.items() if k not in (trigger_key, mood_key, strength_key)}
        extra: dict[str, Any] = dict(rest)
        if strength_key is not None:
            extra["strength"] = item[strength_key]
        own_mood = as_text(item[mood_key]) if mood_key is not None else None
        chosen = own_mood if own_mood else mood
        if trigger_key is None:
            # Something else describes the trigger; the model takes those keys' text.
            self.add({**extra, "mood": chosen}, where)
            return
        words = item[trigger_key]
        for word in words if isinstance(words, list) else [words]:
            self.words(as_text(word) or readable(word), where, chosen, extra)
