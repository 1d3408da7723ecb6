"""The normalised character model every dialect loads into.

One model, whatever file it came from: dialect A (absolute levels), dialect B (weighted
items, sensitivities), a SillyTavern card import, or greenroom's own normalised YAML. The
engine reads only this model. Anything a source file says that has no field here is kept in
``extensions`` (never dropped) and reported by ``greenroom characters validate``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from schemas.lorebook import Lorebook

NEUROCHEMICALS: tuple[str, ...] = (
    "dopamine",
    "serotonin",
    "oxytocin",
    "endorphins",
    "cortisol",
    "adrenaline",
)

CHARACTER_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
#: A shared lorebook's name is its file's stem, spelt like a character id.
LOREBOOK_NAME_PATTERN = CHARACTER_ID_PATTERN
_CHARACTER_ID_RE = re.compile(CHARACTER_ID_PATTERN)

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Level = Annotated[float, Field(ge=0.0, le=100.0)]
Sensitivity = Annotated[float, Field(ge=0.0, le=5.0)]
Priority = Annotated[int, Field(ge=1, le=10)]


def is_valid_character_id(value: str) -> bool:
    """True when ``value`` is a character id: lowercase letters, digits, ``-``, ``_``.

    Checked before an id is ever joined to a path, so an id can never name a file
    outside the characters directory.
    """
    return bool(_CHARACTER_ID_RE.fullmatch(value))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: The text field that takes a value written as text (or a list) where this section's
    #: mapping was expected; ``None``: the section has no such field (it holds numbers).
    TEXT_FIELD: ClassVar[str | None] = None


class Levels(_Model):
    """Six neurochemical levels, each 0–100."""

    dopamine: Level = 50.0
    serotonin: Level = 50.0
    oxytocin: Level = 50.0
    endorphins: Level = 50.0
    cortisol: Level = 50.0
    adrenaline: Level = 50.0

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in NEUROCHEMICALS}


class Sensitivities(_Model):
    """How strongly each level reacts to a stimulus; 1.0 is average, 0 is inert."""

    dopamine: Sensitivity = 1.0
    serotonin: Sensitivity = 1.0
    oxytocin: Sensitivity = 1.0
    endorphins: Sensitivity = 1.0
    cortisol: Sensitivity = 1.0
    adrenaline: Sensitivity = 1.0

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in NEUROCHEMICALS}


class Neurochemistry(_Model):
    baseline: Levels = Levels()
    sensitivities: Sensitivities = Sensitivities()
    gender_modifiers: dict[str, Any] | None = None


class BigFive(_Model):
    openness: Unit = 0.5
    conscientiousness: Unit = 0.5
    extraversion: Unit = 0.5
    agreeableness: Unit = 0.5
    neuroticism: Unit = 0.5


class Trait(_Model):
    TEXT_FIELD: ClassVar[str | None] = "trait"
    trait: str
    intensity: Unit = 0.5


class Value(_Model):
    TEXT_FIELD: ClassVar[str | None] = "value"
    value: str
    priority: Priority = 5


class Personality(_Model):
    """Who the character is; ``summary`` holds free-text personality (a card's ``personality``)."""

    TEXT_FIELD: ClassVar[str | None] = "summary"

    summary: str | None = None
    big_five: BigFive = BigFive()
    behavioral_traits: list[Trait] = []
    core_values: list[Value] = []
    quirks: list[str] = []
    strengths: list[str] = []
    weaknesses: list[str] = []


class Demographics(_Model):
    TEXT_FIELD: ClassVar[str | None] = "background"
    age: int | None = None
    gender: str | None = None
    occupation: str | None = None
    education: str | None = None
    background: str | None = None
    location: str | None = None
    interests: list[str] = []

    def facts(self) -> list[str]:
        """What the file says, as short phrases in order (``age 34``, ``lives in Lisbon``):
        how the prompt and an exported card put it."""
        facts = [
            f"age {self.age}" if self.age is not None else "",
            f"gender {self.gender}" if self.gender else "",
            f"occupation: {self.occupation}" if self.occupation else "",
            f"education: {self.education}" if self.education else "",
            f"background: {self.background}" if self.background else "",
            f"lives in {self.location}" if self.location else "",
            f"interests: {', '.join(self.interests)}" if self.interests else "",
        ]
        return [fact for fact in facts if fact]


class Specialty(_Model):
    TEXT_FIELD: ClassVar[str | None] = "domain"
    domain: str | None = None
    expertise_level: Unit | None = None
    experience_years: float | None = None
    subdomain_knowledge: list[str] = []
    certifications: list[str] = []
    notable_achievements: list[str] = []


class CommunicationStyle(_Model):
    TEXT_FIELD: ClassVar[str | None] = "conversation_style"
    verbal_pattern: str | None = None
    social_comfort: str | None = None
    listening_preference: Unit | None = None
    body_language: str | None = None
    quirks: list[str] = []
    formality_level: str | None = None
    humor_style: str | None = None
    # How the character runs a conversation (Socratic, one question at a time, …).
    conversation_style: str | None = None


#: How far toward a mood a trigger moves the levels when no strength is given.
DEFAULT_TRIGGER_STRENGTH = 0.6


class MoodTrigger(_Model):
    """A word or phrase that, found in a message, pushes the character toward ``mood``.

    ``mood`` is the author's word (``frustrated``); ``schemas.moods.mood_label`` reads it
    as one of the engine's moods. ``None``: the file named no mood (the trigger reaches the
    prompt but moves nothing). ``strength`` 0–1 is how far toward the mood's levels one
    occurrence moves them (see ``worker.engine.vitals``)."""

    TEXT_FIELD: ClassVar[str | None] = "trigger"
    trigger: Annotated[str, Field(min_length=1)]
    mood: str | None = None
    strength: Unit = DEFAULT_TRIGGER_STRENGTH


class MoodBaseline(_Model):
    TEXT_FIELD: ClassVar[str | None] = "default_state"
    default_state: str = "neutral"
    intensity: Unit = 0.5
    baseline_setpoint: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    emotional_volatility: Unit = 0.5
    typical_moods: list[str] = []
    # From the seed's ``mood_triggers`` and ``triggered_by``, in any of their shapes.
    triggers: list[MoodTrigger] = []


GoalType = Literal["short_term", "long_term", "hidden"]


class Goal(_Model):
    TEXT_FIELD: ClassVar[str | None] = "description"
    goal_id: str | None = None
    goal_type: GoalType = "short_term"
    description: str
    priority: Priority = 5


class Roleplay(_Model):
    """Role-play material (mostly from Character Cards): greetings, scenario, examples."""

    first_message: str | None = None
    alternate_greetings: list[str] = []
    group_only_greetings: list[str] = []
    example_dialogue: str | None = None
    scenario: str | None = None
    system_prompt: str | None = None
    post_history_instructions: str | None = None
    creator_notes: str | None = None
    creator: str | None = None
    character_version: str | None = None
    nickname: str | None = None
    lorebook: dict[str, Any] | None = None
    # A card's ``data.extensions`` object, verbatim (other tools' keys must survive import).
    card_extensions: dict[str, Any] = {}
    # V3 card fields greenroom does not act on but keeps: assets, source, creation_date, ...
    card_metadata: dict[str, Any] = {}


class ModelOverrides(_Model):
    """Per-character LLM settings; ``None`` means "use the server's setting"."""

    model: str | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Unit | None = None
    num_ctx: Annotated[int, Field(gt=0)] | None = None
    max_tokens: Annotated[int, Field(gt=0)] | None = None
    stop: list[str] = []


Dialect = Literal["a", "b", "greenroom", "card_v2", "card_v3"]

def _skill_group_kind(value: Any) -> str:
    return "names" if isinstance(value, list) else "levels"


#: A group of skills: names with levels 0–1 (``{analytical: 0.9}``) or just names
#: (``technical_skills: [Python, SQL]``). Which one is decided by the value's shape, so a
#: wrong level is reported as that, not as "not a list either".
SkillGroup = Annotated[
    Annotated[dict[str, Unit], Tag("levels")] | Annotated[list[str], Tag("names")],
    Discriminator(_skill_group_kind),
]


class Character(_Model):
    """A character, normalised from whichever file format it was written in."""

    id: Annotated[str, Field(pattern=CHARACTER_ID_PATTERN)]
    # The id a file gave itself (dialect B ``character_id``); informational, the stem is the id.
    source_id: str | None = None
    name: Annotated[str, Field(min_length=1)]
    archetype: Annotated[str, Field(min_length=1)]
    description: str = ""
    version: str | None = None
    created_date: dt.date | None = None
    tags: list[str] = []
    demographics: Demographics = Demographics()
    personality: Personality = Personality()
    specialty: Specialty = Specialty()
    skills: dict[str, SkillGroup] = {}
    communication_style: CommunicationStyle = CommunicationStyle()
    preferred_topics: list[str] = []
    mood_baseline: MoodBaseline = MoodBaseline()
    neurochemistry: Neurochemistry = Neurochemistry()
    goals: list[Goal] = []
    backstory: str = ""
    development: dict[str, Any] = {}
    roleplay: Roleplay = Roleplay()
    # The character's own World Info (``schemas.lorebook``), beside a card's
    # ``roleplay.lorebook``; ``lorebooks`` names shared books in ``<characters>/lorebooks/``.
    lorebook: Lorebook | None = None
    lorebooks: list[Annotated[str, Field(pattern=LOREBOOK_NAME_PATTERN)]] = []
    llm: ModelOverrides = ModelOverrides()
    # What the author noted about the file rather than the character (research_metadata,
    # sources, author, …), verbatim by key; kept, shown, never in the prompt.
    author_metadata: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    dialect: Dialect = "greenroom"
