"""The longest chat message greenroom accepts, and the refusal of a longer one (pure).

Both the gateway (before a message takes a turn slot or crosses a pipe) and the character
engine (for local mode, and for any caller that bypasses the gateway) check it, with the
same wording, so a client sees one ``message_too_long`` answer wherever it was caught.
Lengths are in characters (Unicode code points), as Python's ``len`` counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MessageTooLong:
    """A ``user_message`` of ``length`` characters, over the ``limit``."""

    length: int
    limit: int

    def text(self, character_id: str) -> str:
        return (
            f"The message to character {character_id!r} is {self.length} characters long, over "
            f"the limit of {self.limit} (GREENROOM_MAX_MESSAGE_CHARS); nothing was sent to the "
            "character. Shorten it or split it into several messages."
        )

    def details(self) -> dict[str, Any]:
        return {"max_chars": self.limit, "length": self.length}


def check_message_length(user_message: str, limit: int) -> MessageTooLong | None:
    """``None`` when ``user_message`` is at most ``limit`` characters, else the refusal."""
    length = len(user_message)
    return MessageTooLong(length=length, limit=limit) if length > limit else None
