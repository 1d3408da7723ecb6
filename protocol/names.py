"""Snapshot names: names, never paths.

``save_request``/``load_request``/``delete_snapshot_request`` carry a ``filename`` (a seed-era
field name); the server keeps snapshots as database rows keyed by it, never as files.
``snapshot_name_problem`` is the one rule that makes a name safe (never a path, never a hidden
file, no control characters): ``check_snapshot_name`` applies it to a message, and the
character engine applies exactly it
(``worker.engine.snapshot_content.validate_snapshot_name``); every other name is accepted as it is.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from protocol.errors import ErrorCode, ProtocolError

MAX_SNAPSHOT_NAME_BYTES: Final = 128


def check_snapshot_name(name: str, *, message_id: str | None = None) -> str:
    """Return ``name`` unchanged if it is a safe snapshot name, else raise ``ProtocolError``
    with code ``invalid_name`` (carrying ``message_id``).

    Refused: empty names, names over 128 bytes of UTF-8, a leading dot (hidden files, ``.``,
    ``..``), ``..`` anywhere, ``/`` or ``\\``, NUL and other control characters, and
    characters that cannot be encoded as UTF-8.
    """
    reason = snapshot_name_problem(name)
    if reason is not None:
        raise ProtocolError(
            ErrorCode.INVALID_NAME,
            f"Snapshot name {name!r} is refused: {reason}. Use a plain name like 'before-party'.",
            message_id,
        )
    return name


def snapshot_name_problem(name: str) -> str | None:
    """Why ``name`` is not a safe snapshot name (``"it contains '..'"``, …), or None when it
    is. The reason is a clause meant to follow "is refused: "."""
    if not name:
        return "it is empty"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "it is not valid Unicode text"
    if size > MAX_SNAPSHOT_NAME_BYTES:
        return f"it is longer than {MAX_SNAPSHOT_NAME_BYTES} bytes"
    if "/" in name or "\\" in name:
        return "it contains a path separator"
    if ".." in name:
        return "it contains '..'"
    if name.startswith("."):
        return "it starts with a dot"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "it contains a NUL or control character"
    return None
