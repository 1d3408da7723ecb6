"""A lorebook (SillyTavern's World Info): entries of background text that enter the prompt
only when the conversation mentions them.

This is greenroom's normalised form of a book, what a character file's ``lorebook:``
section and a shared book (``<characters dir>/lorebooks/<name>.yaml``) are written in.
SillyTavern's World Info files and a card's ``character_book`` are translated into it
(``schemas.lorebook_formats``); the engine's scanner (``worker.engine.world_info``) reads
only this model. The rules each field drives are in ``docs/lorebooks.md``.

Defaults are SillyTavern's: scan the last 2 messages, case-insensitive, substring
matching, no recursion, a new entry goes before the character definition at order 100.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

#: SillyTavern's default scan depth (its "Scan Depth" setting): the new message and the
#: reply before it.
DEFAULT_SCAN_DEPTH: Final = 2
#: SillyTavern's ``MAX_SCAN_DEPTH``: no entry or book scans further back than this.
MAX_SCAN_DEPTH: Final = 1000
#: SillyTavern's default depth of an ``at_depth`` entry.
DEFAULT_ENTRY_DEPTH: Final = 4
#: The most recursion steps a book may ask for (a step scans the content of the entries
#: the step before activated).
MAX_RECURSION_STEPS: Final = 10

#: How secondary keys combine with a primary key match (SillyTavern's ``selectiveLogic``).
SelectiveLogic = Literal["and_any", "and_all", "not_any", "not_all"]
#: Where an entry's content goes: before or after the character definition in the system
#: message, or ``depth`` messages from the end of the conversation.
LorePosition = Literal["before_character", "after_character", "at_depth"]

ScanDepth = Annotated[int, Field(ge=0, le=MAX_SCAN_DEPTH)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoreEntry(_Model):
    """One entry. It enters the prompt when one of ``keys`` occurs in the scanned messages
    (and its ``secondary_keys`` satisfy ``logic``, when ``selective``), or always when
    ``constant`` — subject to ``probability`` and the book's token budget.

    A key written ``/pattern/flags`` is a regular expression (RE2 syntax, flags ``i``,
    ``m``, ``s``); any other key is plain text. ``case_sensitive`` and
    ``match_whole_words`` left ``None`` take the book's setting. ``order``: higher goes
    later in the prompt (nearer the reply) and is dropped last for the budget.
    """

    keys: list[str] = []
    secondary_keys: list[str] = []
    selective: bool = True
    logic: SelectiveLogic = "and_any"
    content: str = ""
    enabled: bool = True
    constant: bool = False
    order: int = 100
    position: LorePosition = "before_character"
    depth: Annotated[int, Field(ge=0, le=MAX_SCAN_DEPTH)] = DEFAULT_ENTRY_DEPTH
    probability: Annotated[float, Field(ge=0.0, le=100.0)] = 100.0
    scan_depth: ScanDepth | None = None
    case_sensitive: bool | None = None
    match_whole_words: bool | None = None
    exclude_recursion: bool = False
    prevent_recursion: bool = False
    delay_until_recursion: bool = False
    name: str | None = None
    comment: str = ""
    id: int | str | None = None
    # What other tools set on the entry and greenroom does not act on (groups, timed
    # effects, roles, ...), verbatim, so nothing an author wrote is lost.
    extensions: dict[str, Any] = {}


class Lorebook(_Model):
    """A book of entries and the settings its scan uses. ``token_budget`` bounds the
    tokens of its activated entries (``None``: a quarter of the prompt budget, as
    SillyTavern's default "25% of the context"); ``recursive_scanning`` lets activated
    entries' content trigger others, for at most ``max_recursion_steps`` further scans."""

    name: str | None = None
    description: str | None = None
    scan_depth: ScanDepth = DEFAULT_SCAN_DEPTH
    token_budget: Annotated[int, Field(gt=0)] | None = None
    recursive_scanning: bool = False
    max_recursion_steps: Annotated[int, Field(ge=1, le=MAX_RECURSION_STEPS)] = 3
    case_sensitive: bool = False
    match_whole_words: bool = False
    entries: list[LoreEntry] = []
    extensions: dict[str, Any] = {}
