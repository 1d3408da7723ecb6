"""Prints mood, appraisal, prompt and scripted replies for fixed inputs as one JSON line.

Run by ``test_determinism`` under different ``PYTHONHASHSEED`` values; the outputs must match.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.loader import available_ids, load_character
from tests.engine.characters import full_character, sensitive_character
from tests.support.paths import BUNDLED_CHARACTERS
from worker.backends.base import ReplyContext
from worker.engine.appraisal import appraise
from worker.engine.mood import derive_mood
from worker.engine.prompt import PromptInput, build_prompt
from worker.engine.relationship import Relationship, update
from worker.engine.turn_rows import Exchange
from worker.engine.vitals import VitalsModel
from worker.scripted_replies.compose import compose_reply

MESSAGES = ("Hello there!", "You are a stupid useless idiot and I hate you",
            "lol that joke was hilarious haha", "Why does the moon glow at night?",
            "I really appreciate you, friend, thank you", "The train leaves at five")


def probe() -> dict[str, Any]:
    characters = [full_character(), sensitive_character()] + [
        load_character(i, BUNDLED_CHARACTERS).character for i in available_ids(BUNDLED_CHARACTERS)]
    out: dict[str, Any] = {}
    for c in characters:
        model = VitalsModel.for_character(c, half_life_s=600.0)
        levels, rel = model.baseline, Relationship("sam")
        mood = derive_mood(levels, model.baseline)
        trace = []
        for index, message in enumerate(MESSAGES, start=1):
            appraisal = appraise(message)
            levels = model.respond(model.decay(levels, 45.0), appraisal.stimulus)
            mood = derive_mood(levels, model.baseline, previous=mood.label)
            rel = update(rel, appraisal.stimulus, now=float(index))
            prompt = build_prompt(PromptInput(c, levels, mood, rel, ["sam likes tea."],
                                              [Exchange(1, "sam", "hi", "hello")], message,
                                              "sam", 3000, 0.0)).messages
            reply = compose_reply(ReplyContext(c, "sam", message, appraisal.intent, mood.label,
                                               mood.intensity, appraisal.stimulus.valence,
                                               index, ("sam likes tea.",)))
            trace.append({"appraisal": appraisal.as_dict(), "mood": [mood.label, mood.intensity],
                          "levels": levels.as_dict(), "prompt": [[m.role, m.content]
                                                                 for m in prompt],
                          "reply": reply})
        out[c.id] = trace
    return out


if __name__ == "__main__":
    print(json.dumps(probe(), sort_keys=True))
