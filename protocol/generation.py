"""The generation settings a chat request may carry: what ``/set`` changes for one session.

``GenerationSettings`` is the ``options`` of a ``chat_request`` (opt-in; seed clients never
send it). Each field left out keeps the character's value (its file's ``llm:`` block, then
the server's settings); nothing here is ever written to the character file. Unknown fields
are refused rather than ignored: a misspelt ``temprature`` would otherwise be silently
dropped and the reply generated with a setting nobody asked for.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

MAX_REPLY_TOKENS: Final = 131_072
"""The largest ``max_tokens`` accepted (128 Ki: beyond any model's reply length today)."""

Temperature = Annotated[float, msgspec.Meta(ge=0.0, le=2.0)]
TopP = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
ReplyTokens = Annotated[int, msgspec.Meta(ge=1, le=MAX_REPLY_TOKENS)]
ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=r"^\S+$")]


class GenerationSettings(msgspec.Struct, frozen=True, omit_defaults=True,
                         forbid_unknown_fields=True):
    """Per-request generation settings; ``None`` keeps the character's own.

    ``temperature`` 0–2, ``top_p`` 0–1, ``max_tokens`` 1–``MAX_REPLY_TOKENS`` (the longest
    reply, in tokens), ``model`` a model name the backend knows (no spaces; the scripted
    backend has no models and ignores it)."""

    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: ReplyTokens | None = None
    model: ModelName | None = None
