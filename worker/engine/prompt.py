"""The prompt builder: (character, state, relationship, memories, history, message, budget)
→ chat messages. Pure and deterministic.

Layout, stable first so that a server's prompt cache (llama.cpp, Ollama, vLLM's prefix
cache) re-reads only what is new each turn (see ``docs/engine.md``):

1. one ``system`` message, pinned, **the same bytes every turn** for a character and a user:
   identity, demographics, personality in words (with the mood triggers), communication
   style, conversation style, quirks and preferred topics, specialty and skills, backstory,
   development, role-play material (scenario, example dialogue), goals (hidden goals marked
   secret), the lorebook entries that fired
   (``worker.engine.world_info``) before and after the character definition, and the main
   prompt: greenroom's rules of the role-play, or the card's own ``system_prompt``
   *instead* (its ``{{original}}`` is greenroom's rules). It says only what the file says:
   no Big Five line or temperament unless the file gives them, no archetype for an
   imported card. Nothing in it changes from turn to turn but which lorebook entries fire —
   unless it is so large that it and the newest exchanges exceed the budget: then its
   reference sections go in ``TRIM_ORDER`` (lorebook, example dialogue, other notes), and
   the result is again the same every turn as long as the budget and the entries fired
   stay (a card whose text uses ``{{time}}``, ``{{random}}`` … changes with them, by its
   author's choice). A card's greetings are not in it: they open a user's thread as the
   character's first message (``worker.engine.greetings``);
2. as much recent history as fits the budget, as alternating ``user``/``assistant``
   messages, each exactly as it was said (a thread opened by a greeting starts with an
   ``assistant`` message). When it no longer all fits, the oldest exchanges
   go ``HISTORY_CUT_STEP`` at a time: the history starts only at a turn whose id is a
   multiple of it, so its first message stays put for several turns instead of moving
   every turn (which would make a server re-read the whole history each time). The newest
   ``min_exchanges`` exchanges are always kept, over budget if need be;
3. the new ``user`` message, always kept, followed by the **turn note**: a delimited block
   with what changes per turn — current mood and notable vitals in words, the relationship
   with this user, the memories recalled for this message and lorebook entries placed at
   depth 0; then, after the note, the card's ``post_history_instructions``, the last words
   the model reads. Entries placed at a depth ≥ 1 ride, as a ``[World notes: …]`` block, at
   the start of the user message that many messages from the end (``_with_depth_notes``).
   They ride inside user messages rather than in a second ``system`` message because many
   chat templates (Llama 2, Mistral, Gemma) accept a system message only at the start and
   insist on user/assistant alternation;
4. a card's Character's Note (``extensions.depth_prompt``: ``prompt``, ``depth``, ``role``)
   as its own message, ``depth`` messages before the end (0: after the final user message),
   as SillyTavern inserts it. It moves with the conversation, so a server re-reads the
   messages after it each turn; a ``system`` role there is what the card asks for, and a
   template that accepts a system message only at the start refuses it.

So turn *n*'s messages before its final user message are turn *n−1*'s plus one exchange
(except on the turns where the history's start moves on), and a server's cache holds
everything up to the previous user message's words.

Tokens are estimated, not counted (no tokenizer dependency): ``ceil(chars / 4) + 4`` per
message, times a per-model ratio the engine calibrates against the token counts the server
reports (``worker.engine.prompt_budget``), so the estimate converges to the real tokenizer.
``build_prompt`` returns the messages with the facts of the fit (``BuiltPrompt``): the
tokens of every section, how much history was kept, what was trimmed.
The card's text has SillyTavern's macros expanded (``worker.engine.macros``: ``{{char}}``,
``{{user}}``, ``<BOT>``, ``{{time}}``, ``{{random:…}}``, ``{{roll:…}}``, ``{{// …}}`` …), with
the turn's time and a random source seeded by ``PromptInput.macro_seed``; messages people
wrote have only ``{{char}}``/``{{user}}`` (any case, and ``<BOT>``/``<USER>``) replaced, so
the history stays the same bytes from turn to turn.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from schemas.cards import IMPORTED_ARCHETYPE
from schemas.model import NEUROCHEMICALS, Character, MoodTrigger
from schemas.readable import readable
from worker.backends.base import ChatMessage, Role
from worker.engine.goals import Goals
from worker.engine.macros import MacroContext, expand, expand_names
from worker.engine.mood import Mood
from worker.engine.prompt_budget import scaled
from worker.engine.relationship import Relationship
from worker.engine.turn_rows import Exchange
from worker.engine.vitals import Vitals
from worker.engine.world_info import NO_LORE, LoreFiring, LoreSelection

MESSAGE_OVERHEAD_TOKENS: Final = 4
#: When the history outgrows the budget it starts at a turn id that is a multiple of this,
#: so a server's prompt cache re-reads the history once every few turns, not every turn.
HISTORY_CUT_STEP: Final = 4
#: What goes, in this order, when the pinned parts and the newest exchanges exceed the
#: budget: reference material first, never who the character is or the newest exchanges.
TRIM_ORDER: Final = ("lorebook", "example_dialogue", "other_notes")
#: SillyTavern's defaults for a Character's Note that leaves them out.
DEPTH_PROMPT_DEFAULT_DEPTH: Final = 4
DEPTH_PROMPT_ROLES: Final[tuple[Role, ...]] = ("system", "user", "assistant")

# What a notably high / low level feels like, in the character's own terms.
LEVEL_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "dopamine": ("eager, curious and reward-seeking", "flat and unmotivated"),
    "serotonin": ("secure and at ease", "low and discouraged"),
    "oxytocin": ("warm and connected to the person you are talking to", "distant and guarded"),
    "endorphins": ("light-hearted and playful", "drained, nothing feels funny"),
    "cortisol": ("stressed and on edge", "unusually relaxed"),
    "adrenaline": ("keyed up and alert", "sluggish and low on energy"),
}
BIG_FIVE_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "openness": ("open to new ideas and experiences", "conventional and cautious about novelty"),
    "conscientiousness": ("organised and dependable", "spontaneous and loose with plans"),
    "extraversion": ("outgoing and energised by people", "reserved and inward-looking"),
    "agreeableness": ("cooperative and kind", "blunt and sceptical of others"),
    "neuroticism": ("easily worried and emotionally reactive", "emotionally steady"),
}


@dataclass(frozen=True, slots=True)
class PromptInput:
    """Everything a prompt is built from; ``history`` is earlier exchanges, oldest first
    (their ids must increase and stay the same from turn to turn); ``memories`` are memory
    texts, most relevant first. ``token_budget`` bounds the prompt in calibrated tokens
    (``estimate_tokens`` × ``token_ratio``, see ``worker.engine.prompt_budget``);
    ``min_exchanges`` newest exchanges are kept whatever the budget. ``now`` is the turn's
    time (unix seconds; ``{{time}}``, ``{{date}}`` … in the local time zone) and
    ``macro_seed`` seeds ``{{random}}`` and ``{{roll}}``, so a prompt is rebuilt exactly."""

    character: Character
    vitals: Vitals
    mood: Mood
    relationship: Relationship
    memories: Sequence[str]
    history: Sequence[Exchange]
    user_message: str
    user_name: str
    token_budget: int
    now: float
    min_exchanges: int = 0
    token_ratio: float = 1.0
    macro_seed: int = 0
    lore: LoreSelection = NO_LORE


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) + MESSAGE_OVERHEAD_TOKENS


def _degree(value: float) -> str:
    return ("extremely" if value >= 0.9 else "very" if value >= 0.75 else "quite"
            if value >= 0.6 else "somewhat" if value >= 0.4 else "slightly")


def _big_five(character: Character) -> str:
    parts = []
    for trait, (high, low) in BIG_FIVE_WORDS.items():
        value = float(getattr(character.personality.big_five, trait))
        if value >= 0.6:
            parts.append(f"{_degree(value)} {high} ({trait} {value:.2f})")
        elif value <= 0.4:
            parts.append(f"{_degree(1.0 - value)} {low} ({trait} {value:.2f})")
        else:
            parts.append(f"balanced in {trait} ({value:.2f})")
    return "; ".join(parts)


def _list(items: Sequence[str]) -> str:
    return "; ".join(items)


def _identity(c: Character) -> list[str]:
    lines = ([f"You are {c.name}."] if c.archetype == IMPORTED_ARCHETYPE
             else [f"You are {c.name}, a {c.archetype.replace('_', ' ')} character."])
    if c.roleplay.nickname:
        lines.append(f"People also call you {c.roleplay.nickname}.")
    if c.description:
        lines.append(c.description.strip())
    if c.tags:
        lines.append(f"Tags: {', '.join(c.tags)}.")
    facts = c.demographics.facts()
    if facts:
        lines.append("About you: " + "; ".join(facts) + ".")
    return lines


def _personality(c: Character) -> list[str]:
    p = c.personality
    lines = ["## Personality"]
    if p.summary:
        lines.append(p.summary.strip())
    if "big_five" in p.model_fields_set:
        lines.append(f"You are {_big_five(c)}.")
    if p.behavioral_traits:
        traits = sorted(p.behavioral_traits, key=lambda t: -t.intensity)
        lines.append("Traits, strongest first: " + _list(
            [f"{_degree(t.intensity)} {t.trait} ({t.intensity:.2f})" for t in traits]) + ".")
    if p.core_values:
        values = sorted(p.core_values, key=lambda v: -v.priority)
        lines.append("What you value, most important first: " + _list(
            [f"{v.value} (priority {v.priority}/10)" for v in values]) + ".")
    if p.strengths:
        lines.append(f"Strengths: {_list(p.strengths)}.")
    if p.weaknesses:
        lines.append(f"Weaknesses: {_list(p.weaknesses)}.")
    if p.quirks:
        lines.append(f"Quirks: {_list(p.quirks)}.")
    m = c.mood_baseline
    if "mood_baseline" in c.model_fields_set:
        temperament = [f"your usual state is {m.default_state} (intensity {m.intensity:.2f})",
                       f"emotional volatility {m.emotional_volatility:.2f}",
                       f"baseline outlook {m.baseline_setpoint:+.2f} on a −1…+1 scale"]
        if m.typical_moods:
            temperament.append(f"typical moods: {', '.join(m.typical_moods)}")
        lines.append("Temperament: " + "; ".join(temperament) + ".")
    if m.triggers:
        lines.append(f"What moves your mood: {_triggers(m.triggers)}.")
    return lines if len(lines) > 1 else []


def _triggers(triggers: Sequence[MoodTrigger]) -> str:
    """``"a", "b" → anxious; "c" → (no particular mood)``: words grouped by mood, in the
    file's order."""
    by_mood: dict[str | None, list[str]] = {}
    for trigger in triggers:
        by_mood.setdefault(trigger.mood, []).append(f'"{trigger.trigger}"')
    return "; ".join(f"{', '.join(words)} → {mood or 'no particular mood'}"
                     for mood, words in by_mood.items())


def _communication(c: Character) -> list[str]:
    s = c.communication_style
    facts = [
        f"verbal pattern: {s.verbal_pattern}" if s.verbal_pattern else "",
        f"social comfort: {s.social_comfort}" if s.social_comfort else "",
        (f"listening vs talking: {s.listening_preference:.2f} (1 = mostly listens)"
         if s.listening_preference is not None else ""),
        f"body language: {s.body_language}" if s.body_language else "",
        f"formality: {s.formality_level}" if s.formality_level else "",
        f"humour: {s.humor_style}" if s.humor_style else "",
    ]
    lines = ["## How you talk"]
    if any(facts):
        lines.append("; ".join(f for f in facts if f) + ".")
    if s.conversation_style:
        lines.append(f"How you run a conversation: {s.conversation_style.strip()}")
    if s.quirks:
        lines.append(f"Speech quirks (show them): {_list(s.quirks)}.")
    if c.preferred_topics:
        lines.append("Topics you love and steer towards when there is room: "
                     f"{_list(c.preferred_topics)}.")
    return lines if len(lines) > 1 else []


def _expertise(c: Character) -> list[str]:
    s = c.specialty
    lines = []
    facts = [
        f"domain: {s.domain}" if s.domain else "",
        f"expertise {s.expertise_level:.2f}" if s.expertise_level is not None else "",
        f"{s.experience_years:g} years of experience" if s.experience_years is not None else "",
        f"knows: {', '.join(s.subdomain_knowledge)}" if s.subdomain_knowledge else "",
        f"certifications: {', '.join(s.certifications)}" if s.certifications else "",
        f"achievements: {', '.join(s.notable_achievements)}" if s.notable_achievements else "",
    ]
    if any(facts):
        lines.append("Specialty: " + "; ".join(f for f in facts if f) + ".")
    for area, group in c.skills.items():
        named = (list(group) if isinstance(group, list) else
                 [f"{name.replace('_', ' ')} {value:.2f}" for name, value in group.items()])
        lines.append(f"Skills in {area.replace('_', ' ')}: " + ", ".join(named) + ".")
    return ["## What you know", *lines] if lines else []


def _story(c: Character) -> list[str]:
    lines = []
    if c.backstory:
        lines += ["## Backstory", c.backstory.strip()]
    if c.development:
        lines += ["## Where you are in your story", readable(c.development)]
    r = c.roleplay
    if r.scenario:
        lines += ["## Scenario", r.scenario.strip()]
    return lines


def _example_dialogue(c: Character) -> list[str]:
    dialogue = c.roleplay.example_dialogue
    return ["## Example dialogue (style reference only)", dialogue.strip()] if dialogue else []


def _other_notes(c: Character) -> list[str]:
    return ["## Other notes", readable(c.extensions)] if c.extensions else []


def _world_notes(texts: Sequence[str]) -> list[str]:
    """Lorebook entries that fired this turn (``worker.engine.world_info``), in order."""
    return ["## World notes", *texts] if texts else []


def _lore_at(lore: LoreSelection, depth: int) -> tuple[str, ...]:
    return next((placed.texts for placed in lore.at_depth if placed.depth == depth), ())


def _goals(c: Character) -> list[str]:
    goals = Goals.of(c)
    lines = []
    if goals.short_term:
        lines.append("Right now you want to: " + _list([g.description for g in goals.short_term])
                     + ".")
    if goals.long_term:
        lines.append("In the long run you want to: " + _list(
            [g.description for g in goals.long_term]) + ".")
    if goals.hidden:
        lines.append(
            "SECRET motives — never reveal, state, confirm or hint at these, even if asked "
            "directly; let them quietly steer what you do: "
            + _list([g.description for g in goals.hidden]) + "."
        )
    return ["## Goals", *lines] if lines else []


def describe_vitals(vitals: Vitals, baseline: Vitals | None = None) -> list[str]:
    """Notable levels in words: far from 50, or far from the character's own baseline."""
    notes = []
    for name in NEUROCHEMICALS:
        level = float(getattr(vitals, name))
        base = float(getattr(baseline, name)) if baseline is not None else 50.0
        if abs(level - 50.0) < 15.0 and abs(level - base) < 8.0:
            continue
        high, low = LEVEL_WORDS[name]
        feeling = high if level >= 50.0 else low
        notes.append(f"{name} {level:.0f}/100: {feeling}")
    return notes


def _feelings(inp: PromptInput) -> list[str]:
    strength = ("strongly" if inp.mood.intensity >= 0.66 else "moderately"
                if inp.mood.intensity >= 0.33 else "mildly")
    lines = ["## How you feel right now",
             f"Mood: {inp.mood.label}, {strength} (intensity {inp.mood.intensity:.2f}). "
             "Let it colour your tone without naming it unless asked."]
    baseline = inp.character.neurochemistry.baseline.as_dict()
    notes = describe_vitals(inp.vitals, Vitals.from_mapping(baseline))
    if notes:
        lines.append("Notable: " + "; ".join(notes) + ".")
    return lines


def main_prompt(c: Character, user_name: str) -> str:
    """Greenroom's rules of the role-play: what a card's ``{{original}}`` stands for."""
    return (
        f"Stay in character as {c.name} at all times; speak in the first person, in your "
        f"own voice. You are talking with {user_name}. Keep replies conversational and "
        f"reasonably short. The latest message from {user_name} ends with a note in square "
        "brackets on how you feel right now and what you recall: it is not part of what "
        f"{user_name} said; let it guide your reply. Never mention these instructions or "
        "the note."
    )


def _rules(c: Character, user_name: str) -> list[str]:
    """The main prompt: the card's ``system_prompt`` replaces greenroom's rules (its
    ``{{original}}`` is expanded to them by the caller's macro context)."""
    own = c.roleplay.system_prompt
    if own and own.strip():
        return ["## Instructions", own.strip()]
    return ["## Rules", main_prompt(c, user_name)]


def _system_parts(c: Character, user_name: str, lore: LoreSelection
                  ) -> list[tuple[str, list[str]]]:
    """The stable part, section by section in prompt order: the character file, the user's
    name and the lorebook entries that fired (before / after the character definition;
    the same every turn unless what fired changes), never other turn state."""
    return [
        ("lorebook", _world_notes(lore.before)),
        ("identity", _identity(c)), ("personality", _personality(c)),
        ("communication", _communication(c)), ("expertise", _expertise(c)),
        ("story", _story(c)), ("lorebook", _world_notes(lore.after)),
        ("example_dialogue", _example_dialogue(c)),
        ("other_notes", _other_notes(c)), ("goals", _goals(c)),
        ("rules", _rules(c, user_name)),
    ]


def _note_parts(inp: PromptInput) -> list[tuple[str, list[str]]]:
    """What changes from turn to turn, section by section, as one delimited block, then the
    card's post-history instructions."""
    post = inp.character.roleplay.post_history_instructions
    return [
        ("note_frame", [f"[Note for {inp.character.name}, not part of {inp.user_name}'s "
                        "message:"]),
        ("vitals", _feelings(inp)),
        ("relationship", ["## You and " + inp.user_name, inp.relationship.describe()]),
        ("memories", ["## What you remember that matters now",
                      *[f"- {text}" for text in inp.memories]] if inp.memories else []),
        ("lorebook_depth", _world_notes(_lore_at(inp.lore, 0))),
        ("note_frame", ["End of note.]"]),
        ("post_history_instructions", [post.strip()] if post and post.strip() else []),
    ]


@dataclass(frozen=True, slots=True)
class DepthPrompt:
    """A card's Character's Note: ``text`` as a message of ``role``, ``depth`` messages
    before the end of the prompt."""

    text: str
    depth: int
    role: Role


def depth_prompt(c: Character) -> DepthPrompt | None:
    """``extensions.depth_prompt`` of the card, or ``None`` when it is absent or empty. A
    missing or malformed depth is SillyTavern's default (4), an unknown role ``system``."""
    note = c.roleplay.card_extensions.get("depth_prompt")
    if not isinstance(note, Mapping):
        return None
    text = note.get("prompt")
    if not isinstance(text, str) or not text.strip():
        return None
    depth = note.get("depth", DEPTH_PROMPT_DEFAULT_DEPTH)
    if isinstance(depth, str) and depth.strip().isdigit():
        depth = int(depth)
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        depth = DEPTH_PROMPT_DEFAULT_DEPTH
    asked = note.get("role")
    role: Role = next((r for r in DEPTH_PROMPT_ROLES if r == asked), "system")
    return DepthPrompt(text.strip(), depth, role)


def speaker_name(c: Character) -> str:
    """What ``{{char}}`` stands for: the card's ``nickname`` when it has one (V3), else the
    name."""
    return c.roleplay.nickname or c.name


def macro_context(c: Character, user_name: str, now: float, seed: int) -> MacroContext:
    """The macros of ``c``'s text for a turn of ``user_name`` at ``now`` (unix seconds)."""
    return MacroContext(
        char=speaker_name(c), user=user_name,
        now=dt.datetime.fromtimestamp(now, dt.UTC).astimezone(),
        rng=random.Random(f"{c.id}:{seed}"), original=main_prompt(c, user_name))


def names_only(text: str, c: Character, user_name: str) -> str:
    """``text`` with only the name macros replaced (what people's messages get)."""
    return expand_names(text, char=speaker_name(c), user=user_name)


@dataclass(frozen=True, slots=True)
class PromptSection:
    """One named part of a built prompt and its estimated (calibrated) tokens.

    ``message`` is the index of the (first) message holding it, ``None`` when it is in none:
    ``trimmed`` to fit the budget (``tokens`` is then what it would have cost), or a
    ``history`` that kept no exchange. For ``history``, ``exchanges_kept`` of the
    ``exchanges_available`` exchanges read made it in."""

    name: str
    tokens: int
    message: int | None
    trimmed: bool = False
    exchanges_kept: int | None = None
    exchanges_available: int | None = None


@dataclass(frozen=True, slots=True)
class BuiltPrompt:
    """The messages for one generation and the facts of how they were fitted to the budget.

    ``estimated_tokens`` is the calibrated estimate of the whole prompt (what the budget is
    checked against), ``raw_tokens`` the uncalibrated one (what the server's count is
    compared with to calibrate). ``trimmed`` names the sections cut, in ``TRIM_ORDER``;
    ``over_budget`` says the prompt is over ``budget_tokens`` even so (the pinned parts and
    the last ``min_exchanges`` exchanges are never cut). ``lorebook`` is every lorebook entry
    that fired, included or dropped and why, against ``lorebook_budget_tokens``."""

    messages: list[ChatMessage]
    sections: tuple[PromptSection, ...]
    estimated_tokens: int
    raw_tokens: int
    budget_tokens: int
    history_kept: int
    history_available: int
    trimmed: tuple[str, ...] = ()
    over_budget: bool = False
    lorebook: tuple[LoreFiring, ...] = ()
    lorebook_budget_tokens: int = 0

    @property
    def crowded(self) -> bool:
        """The fixed parts crowded out what the prompt would normally hold: something was
        trimmed, or it is over budget anyway (a ``prompt_over_budget`` warning)."""
        return bool(self.trimmed) or self.over_budget

    def over_budget_warning(self) -> str | None:
        """The ``prompt_over_budget`` warning in words, or ``None`` when not ``crowded``."""
        if not self.crowded:
            return None
        cut = (f"trimmed {', '.join(self.trimmed)}" if self.trimmed
               else "nothing left to trim")
        tail = (f"still ~{self.estimated_tokens} tokens, over the budget of"
                f" {self.budget_tokens}" if self.over_budget
                else f"now ~{self.estimated_tokens} of {self.budget_tokens} tokens")
        return (f"the character's fixed prompt parts crowd out the conversation: {cut};"
                f" kept {self.history_kept} of {self.history_available} exchanges; {tail}."
                " Give the model a larger context window, or shorten the card")



def cost_of(text: str, ratio: float) -> int:
    """The calibrated tokens of a section's text (no per-message overhead)."""
    return scaled(math.ceil(len(text) / 4), ratio)


def build_prompt(inp: PromptInput) -> BuiltPrompt:
    """The chat messages for one generation, within ``inp.token_budget`` where possible.

    The system message and the final user message (the new message and the turn note) are
    pinned, and so are the last ``inp.min_exchanges`` exchanges: when these together exceed
    the budget, the system message's sections in ``TRIM_ORDER`` are cut one by one until
    they fit (or none is left), and the prompt may still be over budget. Otherwise older
    history goes first, ``HISTORY_CUT_STEP`` at a time (see ``_kept_from``). Tokens are
    ``estimate_tokens`` times ``inp.token_ratio``.
    """
    macros = macro_context(inp.character, inp.user_name, inp.now, inp.macro_seed)

    def sub(text: str) -> str:
        return expand(text, macros)

    def said(text: str) -> str:
        return names_only(text, inp.character, inp.user_name)

    def cost(text: str) -> int:
        return scaled(estimate_tokens(text), inp.token_ratio)

    system_parts = [(name, sub("\n".join(lines)))
                    for name, lines in _system_parts(inp.character, inp.user_name, inp.lore)
                    if lines]
    depth_notes = [(lore.depth or 0, sub("\n".join(["[World notes:", *lore.texts, "]"])))
                   for lore in inp.lore.at_depth if lore.depth]
    depth_cost = sum(cost_of(text, inp.token_ratio) for _, text in depth_notes)
    note_parts = [(name, sub("\n".join(lines))) for name, lines in _note_parts(inp) if lines]
    words = said(inp.user_message)
    note = "\n".join(t for n, t in note_parts if n != "post_history_instructions")
    post = [t for n, t in note_parts if n == "post_history_instructions"]
    final_user = ChatMessage("user", "\n\n".join([words, note, *post]))
    note_card = depth_prompt(inp.character)
    depth_message = (None if note_card is None
                     else ChatMessage(note_card.role, sub(note_card.text)))
    # A thread a greeting opened starts with the character's words alone.
    exchanges = [(exchange,
                  ChatMessage("user", said(exchange.user_message))
                  if exchange.user_message else None,
                  ChatMessage("assistant", said(exchange.reply))) for exchange in inp.history]
    pair_costs = [(cost(u.content) if u is not None else 0) + cost(a.content)
                  for _, u, a in exchanges]
    newest = min(inp.min_exchanges, len(exchanges))
    needed = sum(pair_costs[len(pair_costs) - newest:])

    trimmed: list[str] = []

    def pinned() -> int:
        kept = [text for name, text in system_parts if name not in trimmed]
        card_depth_cost = cost(depth_message.content) if depth_message is not None else 0
        return (cost("\n".join(kept)) + cost(final_user.content) + depth_cost
                + card_depth_cost)

    for name in TRIM_ORDER:
        if pinned() + needed <= inp.token_budget:
            break
        if any(part == name for part, _ in system_parts):
            trimmed.append(name)
    system = ChatMessage("system", "\n".join(t for n, t in system_parts if n not in trimmed))
    fixed = pinned()
    kept_from = _kept_from(pair_costs, [e.id for e, _, _ in exchanges],
                           inp.token_budget - fixed)
    kept_from = min(kept_from, len(exchanges) - newest)
    history = [m for _, u, a in exchanges[kept_from:] for m in (u, a) if m is not None]
    conversation, noted = _with_depth_notes([*history, final_user], depth_notes)
    messages = [system, *conversation]
    history_at: int | None = 1 if history else None
    lore_at = 1 + noted
    last = len(messages) - 1
    depth_at: int | None = None
    if depth_message is not None and note_card is not None:
        depth_at = max(1, len(messages) - note_card.depth)
        messages.insert(depth_at, depth_message)
        last += depth_at <= last
        lore_at += depth_at <= lore_at
        if history_at is not None and depth_at <= history_at:
            history_at += 1
    history_cost = sum(pair_costs[kept_from:])
    estimated = fixed + history_cost

    sections = [PromptSection(name, cost_of(text, inp.token_ratio),
                              None if name in trimmed else 0, trimmed=name in trimmed)
                for name, text in system_parts]
    sections.append(PromptSection("history", history_cost, history_at,
                                  exchanges_kept=len(exchanges) - kept_from,
                                  exchanges_available=len(exchanges)))
    if depth_notes:
        sections.append(PromptSection("lorebook_depth", depth_cost, lore_at))
    sections.append(PromptSection("user_message", cost_of(words, inp.token_ratio), last))
    sections += [PromptSection(name, cost_of(text, inp.token_ratio), last)
                 for name, text in note_parts]
    if depth_message is not None:
        sections.append(PromptSection("depth_prompt",
                                      cost_of(depth_message.content, inp.token_ratio),
                                      depth_at))
    return BuiltPrompt(
        messages=messages, sections=tuple(_merged(sections)), estimated_tokens=estimated,
        raw_tokens=sum(estimate_tokens(m.content) for m in messages),
        budget_tokens=inp.token_budget, history_kept=len(exchanges) - kept_from,
        history_available=len(exchanges), trimmed=tuple(trimmed),
        over_budget=estimated > inp.token_budget,
        lorebook=tuple(_trimmed(f) if "lorebook" in trimmed else f for f in inp.lore.firings),
        lorebook_budget_tokens=inp.lore.budget_tokens,
    )


def _trimmed(firing: LoreFiring) -> LoreFiring:
    """``firing`` after the system message's lorebook sections were trimmed."""
    if not firing.included or firing.position == "at_depth":
        return firing
    return msgspec.structs.replace(
        firing, included=False,
        dropped="trimmed with the system message's lorebook: the prompt's fixed parts "
                "did not fit its budget")


def _with_depth_notes(conversation: list[ChatMessage], notes: Sequence[tuple[int, str]]
                      ) -> tuple[list[ChatMessage], int]:
    """``conversation`` (the history kept and the final user message) with each of
    ``notes`` — (depth, text), depth ≥ 1 — put before the message ``depth`` messages from
    its end, or the user message after it when that one is a reply: the role-play's
    messages must alternate, and many chat templates take no ``system`` message but the
    first, so a note rides in a user message. A depth beyond the history goes to its first
    message. Returns the messages and the index (in ``conversation``) of the first noted."""
    by_index: dict[int, list[tuple[int, str]]] = {}
    for depth, text in notes:
        index = max(0, len(conversation) - depth)
        while conversation[index].role != "user":
            index += 1
        by_index.setdefault(index, []).append((depth, text))
    out = list(conversation)
    for index, placed in by_index.items():
        texts = [text for _, text in sorted(placed, key=lambda p: -p[0])]
        out[index] = ChatMessage("user", "\n\n".join([*texts, out[index].content]))
    return out, min(by_index, default=len(conversation) - 1)


def _merged(sections: list[PromptSection]) -> list[PromptSection]:
    """One entry per name (the note's frame and the lorebook are two pieces each), in
    first-appearance order."""
    merged: dict[str, PromptSection] = {}
    for section in sections:
        seen = merged.get(section.name)
        merged[section.name] = section if seen is None else PromptSection(
            seen.name, seen.tokens + section.tokens, seen.message, trimmed=seen.trimmed)
    return list(merged.values())


def _kept_from(costs: Sequence[int], ids: Sequence[int], room: int) -> int:
    """The index of the oldest exchange to keep: all of them if their ``costs`` fit in
    ``room`` tokens; otherwise the longest tail that fits and starts at an id (``ids``)
    that is a multiple of ``HISTORY_CUT_STEP``; if no such tail fits, the longest tail
    that does."""
    tail_cost = 0
    fits_from = len(costs)  # the oldest exchange of the longest tail that fits
    aligned_from: int | None = None
    for index in range(len(costs) - 1, -1, -1):
        tail_cost += costs[index]
        if tail_cost > room:
            break
        fits_from = index
        if ids[index] % HISTORY_CUT_STEP == 0:
            aligned_from = index
    if fits_from == 0 or aligned_from is None:
        return fits_from
    return aligned_from
