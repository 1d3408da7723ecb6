"""Any value a character file holds (text, list, mapping, nested), as readable text.

What the prompt shows for a field written in a shape the model does not hold, and what
greenroom coerces such a field to. Keys read as words (``turning_point`` → ``turning
point``), mappings as ``key: value`` pairs, lists as their items; nesting is shown with
parentheses; a list of sentences reads as a paragraph. Empty values are left out. Every
piece of text in ``value`` appears in the result, unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.yaml_io import as_text

_SENTENCE_ENDS = (".", "!", "?", "…")


def readable(value: Any) -> str:
    """``value`` as one line of text (``"a; b: c, d"``), ``""`` for an empty value."""
    return _render(value, depth=0)


def readable_key(key: Any) -> str:
    """A mapping key as words: ``turning_point`` → ``turning point``."""
    return (as_text(key) or str(key)).replace("_", " ")


def is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, Mapping | list) and not value)


def _render(value: Any, *, depth: int) -> str:
    # The outermost level separates with "; ", every level inside with ", "; a mapping
    # inside a mapping, and anything with several parts two levels down, is put in
    # parentheses so the separators stay unambiguous.
    if isinstance(value, Mapping | list | tuple):
        if isinstance(value, Mapping):
            parts = [f"{readable_key(k)}: {_value_of_key(v, depth=depth + 1)}"
                     for k, v in value.items() if not is_empty(v)]
        else:
            parts = [_render(v, depth=depth + 1) for v in value if not is_empty(v)]
        compound = isinstance(value, Mapping) or any(
            isinstance(v, Mapping | list | tuple) for v in value)
        if not compound and parts and all(p.rstrip().endswith(_SENTENCE_ENDS) for p in parts):
            return " ".join(parts)  # a list of sentences reads as a paragraph
        joined = ("; " if depth == 0 else ", ").join(parts)
        return f"({joined})" if depth >= 2 and len(parts) > 1 else joined
    if value is None:
        return ""
    text = as_text(value)
    return text if text is not None else str(value)


def _value_of_key(value: Any, *, depth: int) -> str:
    text = _render(value, depth=depth)
    several = isinstance(value, Mapping) and len(value) > 1 and depth == 1
    return f"({text})" if several else text
