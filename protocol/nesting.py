"""greenroom's own limit on how deeply a frame may nest arrays and objects (pure).

msgspec refuses nesting only at the interpreter's recursion limit, which differs between
Python versions (about 1,000 levels on 3.11, 100,000 on 3.13). greenroom refuses earlier,
at the same depth on every version:

* a WebSocket (JSON) frame nests at most ``MAX_NESTING_DEPTH`` levels (``{"a": 1}`` is one
  level, ``{"a": [1]}`` two);
* a pipe (msgpack) frame at most ``PIPE_MAX_NESTING_DEPTH``: the frame and the message it
  carries wrap a client's frame in two more levels.

A JSON frame is checked before any decoder sees it, by a scan that never recurses. A pipe
frame that could nest that deep is decoded generically (msgspec refuses depths past the
recursion limit with ``RecursionError``) and the result walked iteratively. Both checks are
linear in the frame's size, and cost one C-level pass when the frame cannot nest that deep
(it has no more opening brackets or container headers than the limit): nearly every frame.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any, Final

MAX_NESTING_DEPTH: Final = 64
"""Deepest nesting of arrays/objects a WebSocket frame may have."""

PIPE_MAX_NESTING_DEPTH: Final = MAX_NESTING_DEPTH + 2
"""Deepest nesting of arrays/maps a pipe frame may have."""

_JSON_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET: Final = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}

# msgpack container headers: fixmap, fixarray, array 16/32, map 16/32.
_CONTAINER_HEADERS: Final = bytes(range(0x80, 0xA0)) + b"\xdc\xdd\xde\xdf"
_OTHER_BYTES: Final = bytes(b for b in range(256) if b not in _CONTAINER_HEADERS)


def json_nesting_exceeds(text: str, limit: int = MAX_NESTING_DEPTH) -> bool:
    """True when the JSON ``text`` nests arrays/objects deeper than ``limit``.

    Brackets inside strings do not count. Never recurses; for text that is not JSON the
    answer is a best effort (the decoder then reports what is wrong with it).
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > limit


def msgpack_may_nest_deeper(body: bytes | bytearray | memoryview,
                            limit: int = PIPE_MAX_NESTING_DEPTH) -> bool:
    """False when the msgpack ``body`` cannot nest deeper than ``limit``: it has no more
    bytes that could be container headers than that. True means "walk the decoded value"."""
    return len(bytes(body).translate(None, _OTHER_BYTES)) > limit


def value_nesting_exceeds(value: Any, limit: int = PIPE_MAX_NESTING_DEPTH) -> bool:
    """True when the decoded ``value`` nests dicts/lists deeper than ``limit``. Iterative:
    linear in the number of containers, whatever their depth."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False
