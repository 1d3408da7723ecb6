"""A lorebook key as written → a matcher that runs in time linear in the text it scans.

Keys are matched the way SillyTavern matches them (``world-info.js``, ``matchKeys``):

* ``/pattern/flags`` is a regular expression; its own flags decide (``i`` case-insensitive,
  ``m`` multi-line, ``s`` dot matches newline; ``g``, ``u``, ``y`` change nothing for a
  yes/no match), the entry's case and whole-word settings do not apply. A ``/`` inside the
  pattern must be escaped (``\\/``), else the key is plain text — as in SillyTavern;
* any other key is plain text, compared lower-cased unless case-sensitive. With whole
  words, a one-word key must stand between non-word characters (or the text's ends); a key
  of several words is matched as a substring, as SillyTavern does.

Regular expressions run on RE2 (``google-re2``), never on a backtracking engine: a search
costs time linear in the text, whatever the pattern, so no key — ``/(a+)+$/`` included —
can stall a worker, and a scan's cost is bounded by (keys × scanned characters). RE2 has
no look-around and no back-references: a key that uses them (or is not a valid pattern,
or compiles to more than ``REGEX_MAX_MEMORY`` bytes) is reported once, when the book is
compiled, and never matches — the Character Card V3 rule for an invalid pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol

import re2  # type: ignore[import-untyped]

#: RE2's memory limit for one compiled key; a pattern needing more is refused.
REGEX_MAX_MEMORY: Final = 1 << 20
#: Longest key accepted, in characters (a longer one is reported and never matches).
MAX_KEY_CHARS: Final = 1000

_DELIMITED = re.compile(r"^/([\s\S]+?)/([gimsuy]*)$")
_UNESCAPED_SLASH = re.compile(r"(^|[^\\])/")
_MACROS = re.compile(r"\{\{(char|user)\}\}", re.IGNORECASE)


class _Pattern(Protocol):
    def search(self, text: str) -> object | None: ...


@dataclass(frozen=True, slots=True)
class Haystack:
    """The text one scan reads, as written and lower-cased (computed once per scan)."""

    text: str
    lowered: str

    @classmethod
    def of(cls, text: str) -> Haystack:
        return cls(text, text.lower())


@dataclass(frozen=True, slots=True)
class LoreKey:
    """One compiled key. ``written`` is the key as the book has it (what traces show);
    ``regex`` says it is a ``/pattern/`` key."""

    written: str
    regex: bool
    _needle: str
    _pattern: _Pattern | None
    _case_sensitive: bool

    def found_in(self, haystack: Haystack) -> bool:
        text = haystack.text if self._case_sensitive else haystack.lowered
        if self._pattern is not None:
            return self._pattern.search(text) is not None
        return self._needle in text


class UnusableKey(ValueError):
    """A key that cannot match anything; the message says why."""


def uses_user_name(key: str) -> bool:
    """Whether ``key`` names ``{{user}}``, so it must be compiled for each user's name."""
    return any(m.group(1).lower() == "user" for m in _MACROS.finditer(key))


def substitute_names(key: str, *, char: str, user: str) -> str:
    """``{{char}}`` and ``{{user}}`` (any case) replaced, as SillyTavern does with keys."""
    return _MACROS.sub(lambda m: char if m.group(1).lower() == "char" else user, key)


def compile_key(written: str, *, case_sensitive: bool, whole_words: bool,
                char: str = "", user: str = "") -> LoreKey:
    """The matcher for ``written`` (see the module docstring); ``char`` and ``user`` fill
    the name macros. Raises ``UnusableKey`` for a key that can never match."""
    key = substitute_names(written, char=char, user=user).strip()
    if not key:
        raise UnusableKey("the key is empty")
    if len(key) > MAX_KEY_CHARS:
        raise UnusableKey(f"the key is {len(key)} characters long, more than {MAX_KEY_CHARS}")
    delimited = _DELIMITED.match(key)
    if delimited and not _UNESCAPED_SLASH.search(delimited.group(1)):
        pattern, flags = delimited.groups()
        return LoreKey(written, True, "", _regex(pattern, flags), True)
    needle = key if case_sensitive else key.lower()
    if whole_words and len(needle.split()) == 1:
        word = _regex(r"(?:^|\W)" + re2.escape(needle) + r"(?:$|\W)", "")
        return LoreKey(written, False, needle, word, case_sensitive)
    return LoreKey(written, False, needle, None, case_sensitive)


def _regex(pattern: str, flags: str) -> _Pattern:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = REGEX_MAX_MEMORY
    options.case_sensitive = "i" not in flags
    prefix = "".join(f for f in "ms" if f in flags)
    try:
        compiled: _Pattern = re2.compile(f"(?{prefix}){pattern}" if prefix else pattern,
                                         options=options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise UnusableKey(f"not a regular expression RE2 runs ({detail}); look-ahead, "
                        "look-behind and back-references are not supported") from exc
    return compiled
