"""Canonical JSON: the one spelling of a stored value.

Every record the engine stores (state, relationships, turn rows, snapshot content) and the
export it writes go through ``canonical_json``: msgspec's encoder with ``order="sorted"``
(object keys and Struct fields sorted, no spaces, UTF-8 kept as is, floats in their
shortest round-trip form), so two equal records are byte-identical and dumping what was
restored gives back the same bytes.

Documents written before the records were msgspec Structs used ``json.dumps(sort_keys=True)``;
they decode to the same values. The one spelling that differs is a float's exponent
(``1e-05`` then, ``0.00001`` now): the same number, so nothing reads it differently.
"""

from __future__ import annotations

from typing import Final

import msgspec

_ENCODER: Final = msgspec.json.Encoder(order="sorted")


def canonical_json(value: object) -> str:
    """``value`` (Structs, dataclasses, dicts, lists, scalars) as canonical JSON text."""
    return _ENCODER.encode(value).decode()
