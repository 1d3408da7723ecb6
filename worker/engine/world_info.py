"""World Info: which lorebook entries a turn's prompt carries, and why. Pure.

``WorldInfo.compile`` turns a character's books into matchers once (when the character is
opened); ``WorldInfo.scan`` then decides, for one turn, from the last messages of the
conversation, which entries fire — SillyTavern's ``checkWorldInfo`` (``world-info.js``),
rule for rule, described for authors in ``docs/lorebooks.md``:

1. **Candidates**, highest ``order`` first (ties: book, then entry, in file order).
   Disabled entries, entries with no content and ``@@dont_activate`` never fire;
   ``constant`` and ``@@activate`` entries always do; any other needs a primary key in
   the entry's window: its last ``scan_depth`` messages (the new user message is the
   first), plus, in a recursion step, the content of the entries fired before. With
   ``selective`` secondary keys the logic decides: AND ANY (one of them occurs too), AND
   ALL (all of them), NOT ANY (none of them), NOT ALL (not all of them).
2. **Probability**: an entry with ``probability`` below 100 fires only when its roll (in
   [0, 100)) falls under it. Rolls are drawn by ``roll`` — by default a hash of the
   character, the turn, the reply variant and the entry — so the same turn rolls the same
   (a dry run shows what the turn will do), and another reply to a turn (a regenerate)
   rolls again, as SillyTavern's swipes do.
3. **Budget**: fired entries are added, highest ``order`` first, until the next one would
   reach the token budget; it and every entry after it (lower orders, later steps) are
   dropped — the lowest orders go first.
4. **Recursion** (a book with ``recursive_scanning``): the content of what fired — except
   ``prevent_recursion`` entries — is scanned again for the entries not fired yet, at most
   ``max_recursion_steps`` more times; ``exclude_recursion`` entries cannot fire from
   it, and ``delay_until_recursion`` ones fire only from it (they get one step of their own
   when nothing else recursed, as in SillyTavern).

**Cost.** Every key is compiled once per character (``{{user}}`` keys once per user name,
cached), and a scan does at most (steps × keys) searches, each linear in the characters it
reads (RE2, see ``schemas.lore_keys``): nothing a user sends or a book holds makes a scan
cost more than linearly in the text scanned, with at most ``1 + MAX_RECURSION_STEPS + 1``
steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import msgspec

from schemas.lore_keys import Haystack, LoreKey, UnusableKey, compile_key, uses_user_name
from schemas.lorebook import Lorebook, LoreEntry

#: The share of the prompt budget a scan may fill when no book sets ``token_budget``
#: (SillyTavern's default "World Info budget: 25% of the context").
DEFAULT_BUDGET_SHARE: Final = 0.25
#: ``{{user}}`` keys are compiled per user name; at most this many names are cached.
USER_KEY_CACHE: Final = 64

FiringReason = Literal["key", "constant", "decorator", "recursion"]

#: A roll in [0, 100) for one entry: (book label, entry index) → roll.
Roll = Callable[[str, int], float]


class LoreFiring(msgspec.Struct, frozen=True):
    """One entry that fired in a scan, and what became of it: ``included`` in the prompt,
    or ``dropped`` (why, in words). ``reason``: a ``key`` matched in a message, the entry
    is ``constant``, a ``decorator`` (``@@activate``) forced it, or a key matched in the
    content of entries fired before (``recursion``, at ``step`` ≥ 1). ``where``: in which
    message (``message 0`` is the user's new one, ``message 1`` the reply before it, …)
    or which entry's content the key was found. ``secondary``: the secondary keys found
    (AND ANY / AND ALL). ``tokens``: the content's estimated cost."""

    book: str
    entry: str
    index: int
    reason: FiringReason
    position: str
    order: int
    tokens: int
    included: bool
    step: int = 0
    key: str | None = None
    where: str | None = None
    secondary: tuple[str, ...] = ()
    depth: int | None = None
    probability: float | None = None
    roll: float | None = None
    dropped: str | None = None

    def describe(self) -> str:
        """``'Shadowfangs' (Eldoria) key 'beast' in message 0`` and the rest, in words."""
        if self.reason == "constant":
            why = "constant"
        elif self.reason == "decorator":
            why = "@@activate"
        else:
            why = f"key {self.key!r} in {self.where}"
            if self.secondary:
                why += f" with {', '.join(repr(k) for k in self.secondary)}"
        if self.probability is not None and self.roll is not None:
            why += f", rolled {self.roll:.1f} < {self.probability:g}%"
        place = self.position if self.depth is None else f"{self.position} {self.depth}"
        text = f"{self.entry!r} ({self.book}) {why} → {place}, order {self.order}"
        return text if self.included else f"{text}: DROPPED, {self.dropped}"


@dataclass(frozen=True, slots=True)
class LoreText:
    """Activated content for one place in the prompt, lowest order first."""

    position: str
    depth: int | None
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LoreSelection:
    """A scan's result: every entry that fired (``firings``, in the order considered), the
    texts of the included ones per place (``before``, ``after``, ``at_depth`` — each lowest
    order first, at-depth ones by depth), the budget and the tokens used."""

    firings: tuple[LoreFiring, ...]
    before: tuple[str, ...]
    after: tuple[str, ...]
    at_depth: tuple[LoreText, ...]
    budget_tokens: int
    used_tokens: int
    steps: int

    @property
    def included(self) -> tuple[LoreFiring, ...]:
        return tuple(f for f in self.firings if f.included)


NO_LORE: Final = LoreSelection((), (), (), (), 0, 0, 0)


@dataclass(frozen=True, slots=True)
class KeyProblem:
    """A key of entry ``index`` of ``book`` that never matches, and why."""

    book: str
    index: int
    key: str
    why: str


@dataclass(slots=True)
class _Entry:
    book: str
    book_index: int
    index: int
    entry: LoreEntry
    label: str
    content: str
    activate: bool
    primary: list[LoreKey]
    secondary: list[LoreKey]
    scan_depth: int
    case_sensitive: bool
    whole_words: bool
    # keys naming {{user}}: compiled per user name (``WorldInfo._keys_for``)
    user_keys: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())


def _label(entry: LoreEntry, index: int) -> str:
    if entry.comment.strip():
        return entry.comment.strip()
    if entry.name:
        return entry.name
    if entry.keys:
        return entry.keys[0]
    return f"#{index}"


def _decorators(content: str) -> tuple[set[str], str]:
    """The ``@@`` lines at the start of ``content`` and the content without them."""
    lines = content.splitlines()
    found: set[str] = set()
    while lines and lines[0].startswith("@@"):
        found.add(lines.pop(0)[2:].strip().split(" ")[0].lower())
    return found, "\n".join(lines).strip()


class WorldInfo:
    """A character's books, compiled (see the module docstring). Immutable after
    ``compile`` except for the cache of ``{{user}}`` keys."""

    def __init__(self, entries: list[_Entry], *, char: str, budget_tokens: int | None,
                 recursion_steps: int, problems: list[KeyProblem]) -> None:
        self._entries = entries
        self._char = char
        self._budget_tokens = budget_tokens
        self._recursion_steps = recursion_steps
        self.problems: tuple[KeyProblem, ...] = tuple(problems)
        self._user_keys: dict[str, dict[int, tuple[list[LoreKey], list[LoreKey]]]] = {}

    @classmethod
    def compile(cls, books: Sequence[tuple[str, Lorebook]], *, char: str) -> WorldInfo:
        """The books (each with the label traces name it by: ``character``, ``card``,
        ``shared:<name>``) compiled for the character named ``char``."""
        entries: list[_Entry] = []
        problems: list[KeyProblem] = []
        budgets = [book.token_budget for _, book in books if book.token_budget is not None]
        recursive = [book.max_recursion_steps for _, book in books if book.recursive_scanning]
        for book_index, (label, book) in enumerate(books):
            for index, entry in enumerate(book.entries):
                decorators, content = _decorators(entry.content)
                if not entry.enabled or not content or "dont_activate" in decorators:
                    continue
                compiled = _Entry(
                    book=label, book_index=book_index, index=index, entry=entry,
                    label=_label(entry, index), content=content,
                    activate="activate" in decorators, primary=[], secondary=[],
                    scan_depth=book.scan_depth if entry.scan_depth is None
                    else entry.scan_depth,
                    case_sensitive=book.case_sensitive if entry.case_sensitive is None
                    else entry.case_sensitive,
                    whole_words=book.match_whole_words if entry.match_whole_words is None
                    else entry.match_whole_words)
                per_user: list[list[str]] = [[], []]
                for slot, keys, out in ((0, entry.keys, compiled.primary),
                                        (1, entry.secondary_keys, compiled.secondary)):
                    for key in keys:
                        if uses_user_name(key):
                            per_user[slot].append(key)
                            continue
                        try:
                            out.append(_compile(key, compiled, char=char, user=""))
                        except UnusableKey as exc:
                            problems.append(KeyProblem(label, index, key, str(exc)))
                compiled.user_keys = (tuple(per_user[0]), tuple(per_user[1]))
                entries.append(compiled)
        entries.sort(key=lambda e: (-e.entry.order, e.book_index, e.index))
        return cls(entries, char=char, budget_tokens=min(budgets) if budgets else None,
                   recursion_steps=max(recursive) if recursive else 0, problems=problems)

    @property
    def empty(self) -> bool:
        return not self._entries

    def budget_for(self, prompt_budget: int) -> int:
        """The lore budget of a prompt of ``prompt_budget`` tokens: the lowest
        ``token_budget`` of the books, else ``DEFAULT_BUDGET_SHARE`` of the prompt's."""
        if self._budget_tokens is not None:
            return min(self._budget_tokens, prompt_budget)
        return max(1, int(prompt_budget * DEFAULT_BUDGET_SHARE))

    def scan(self, messages: Sequence[str], *, user: str, budget_tokens: int,
             cost: Callable[[str], int], roll: Roll) -> LoreSelection:
        """Which entries fire for a conversation whose messages are ``messages``, newest
        first (``messages[0]`` is the user's new message), within ``budget_tokens``
        (``cost`` estimates a text's tokens; ``roll`` draws the probability rolls)."""
        if not self._entries:
            return NO_LORE
        chat = [Haystack.of(text) for text in messages]
        recursed: list[tuple[str, Haystack]] = []
        fired: dict[int, LoreFiring] = {}
        firings: list[LoreFiring] = []
        used = 0
        overflowed = False
        step = 0
        delayed_step_done = False
        while True:
            found = [f for e in self._entries if id(e) not in fired
                     if (f := self._check(e, chat, recursed, step=step, user=user,
                                          delayed_only=step > 0 and delayed_step_done))
                     is not None]
            new_content: list[tuple[str, str]] = []
            for entry, firing in found:
                fired[id(entry)] = firing
                firing = self._rolled(msgspec.structs.replace(firing, tokens=cost(entry.content)),
                                      entry, roll)
                if firing.dropped is None and not overflowed:
                    if used + firing.tokens >= budget_tokens:
                        overflowed = True
                    else:
                        used += firing.tokens
                        firing = msgspec.structs.replace(firing, included=True)
                        if not entry.entry.prevent_recursion:
                            new_content.append((entry.label, entry.content))
                if firing.dropped is None and not firing.included:
                    firing = msgspec.structs.replace(
                        firing, dropped=f"over the lorebook budget of {budget_tokens} tokens")
                firings.append(firing)
            step += 1
            recursed += [(label, Haystack.of(text)) for label, text in new_content]
            if overflowed:
                break
            if new_content and self._recursion_steps and step <= self._recursion_steps:
                continue
            if not delayed_step_done and any(
                    e.entry.delay_until_recursion and id(e) not in fired for e in self._entries):
                delayed_step_done = True
                continue
            break
        included = [f for f in firings if f.included]
        return LoreSelection(
            firings=tuple(firings), before=_texts(self._entries, included, "before_character"),
            after=_texts(self._entries, included, "after_character"),
            at_depth=_depth_texts(self._entries, included), budget_tokens=budget_tokens,
            used_tokens=used, steps=step)

    def _check(self, e: _Entry, chat: list[Haystack], recursed: list[tuple[str, Haystack]],
               *, step: int, user: str, delayed_only: bool
               ) -> tuple[_Entry, LoreFiring] | None:
        entry = e.entry
        if delayed_only and not entry.delay_until_recursion:
            return None
        if step == 0 and entry.delay_until_recursion:
            return None
        if step > 0 and entry.exclude_recursion:
            return None
        if e.activate:
            return e, self._firing(e, "decorator", step)
        if entry.constant:
            return e, self._firing(e, "constant", step)
        primary, secondary = self._keys_for(e, user)
        window = [(f"message {depth}", hay) for depth, hay in enumerate(chat[:e.scan_depth])]
        window += [(f"the content of entry {label!r}", hay) for label, hay in recursed]
        hit = next(((key, where) for key in primary for where, hay in window
                    if key.found_in(hay)), None)
        if hit is None:
            return None
        matched: tuple[str, ...] = ()
        if entry.selective and (secondary or entry.secondary_keys):
            found = [k.written for k in secondary if any(k.found_in(h) for _, h in window)]
            total = len(entry.secondary_keys)
            passes = {"and_any": bool(found), "and_all": len(found) == total,
                      "not_any": not found, "not_all": len(found) < total}[entry.logic]
            if not passes:
                return None
            matched = tuple(found) if entry.logic in ("and_any", "and_all") else ()
        key, where = hit
        reason: FiringReason = "recursion" if where.startswith("the content") else "key"
        return e, self._firing(e, reason, step, key=key.written, where=where,
                               secondary=matched)

    def _keys_for(self, e: _Entry, user: str) -> tuple[list[LoreKey], list[LoreKey]]:
        if not e.user_keys[0] and not e.user_keys[1]:
            return e.primary, e.secondary
        cache = self._user_keys.get(user)
        if cache is None:
            if len(self._user_keys) >= USER_KEY_CACHE:
                self._user_keys.clear()
            cache = self._user_keys[user] = {}
        keys = cache.get(id(e))
        if keys is None:
            compiled: list[list[LoreKey]] = [[], []]
            for slot, written in enumerate(e.user_keys):
                for key in written:
                    try:
                        compiled[slot].append(_compile(key, e, char=self._char, user=user))
                    except UnusableKey:
                        continue
            keys = cache[id(e)] = (e.primary + compiled[0], e.secondary + compiled[1])
        return keys

    @staticmethod
    def _firing(e: _Entry, reason: FiringReason, step: int, *, key: str | None = None,
                where: str | None = None, secondary: tuple[str, ...] = ()) -> LoreFiring:
        entry = e.entry
        return LoreFiring(
            book=e.book, entry=e.label, index=e.index, reason=reason,
            position=entry.position, order=entry.order, tokens=0, included=False,
            step=step, key=key, where=where, secondary=secondary,
            depth=entry.depth if entry.position == "at_depth" else None)

    @staticmethod
    def _rolled(firing: LoreFiring, e: _Entry, roll: Roll) -> LoreFiring:
        probability = e.entry.probability
        if probability >= 100.0:
            return firing
        value = roll(e.book, e.index)
        firing = msgspec.structs.replace(firing, probability=probability, roll=round(value, 2))
        if value < probability:
            return firing
        return msgspec.structs.replace(
            firing, dropped=f"its {probability:g}% roll failed (rolled {value:.1f})")


def _compile(key: str, e: _Entry, *, char: str, user: str) -> LoreKey:
    return compile_key(key, case_sensitive=e.case_sensitive, whole_words=e.whole_words,
                       char=char, user=user)


def _texts(entries: list[_Entry], included: list[LoreFiring], position: str) -> tuple[str, ...]:
    chosen = _chosen(entries, included)
    return tuple(e.content for e in chosen if e.entry.position == position)


def _depth_texts(entries: list[_Entry], included: list[LoreFiring]) -> tuple[LoreText, ...]:
    by_depth: dict[int, list[str]] = {}
    for e in _chosen(entries, included):
        if e.entry.position == "at_depth":
            by_depth.setdefault(e.entry.depth, []).append(e.content)
    return tuple(LoreText("at_depth", depth, tuple(texts))
                 for depth, texts in sorted(by_depth.items()))


def _chosen(entries: list[_Entry], included: list[LoreFiring]) -> list[_Entry]:
    """The included entries, lowest order first (SillyTavern puts higher orders nearer
    the end of each place, closer to the reply)."""
    keys = {(f.book, f.index) for f in included}
    chosen = [e for e in entries if (e.book, e.index) in keys]
    return sorted(chosen, key=lambda e: (e.entry.order, e.book_index, e.index))


def seeded_roll(*, character: str, turn_id: int, variant: int) -> Roll:
    """The default ``roll``: a stable hash of the character, turn, reply variant and entry
    mapped to [0, 100) — the same for the same turn and variant in any process."""
    def roll(book: str, index: int) -> float:
        digest = hashlib.blake2b(f"{character}\0{turn_id}\0{variant}\0{book}\0{index}".encode(),
                                 digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 * 100.0
    return roll
