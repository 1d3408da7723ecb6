"""A sans-I/O decoder for Server-Sent Events (``text/event-stream``), fed one line at a time.

Follows the WHATWG event-stream rules: ``:`` starts a comment, ``field: value`` drops one
leading space from the value, several ``data:`` lines of one event are joined with ``\\n``,
a blank line dispatches the event, an event without data is not dispatched.

Two deliberate leniencies, both for real OpenAI-compatible servers:

* a non-standard ``error:`` field (llama.cpp's server writes mid-stream failures that way) is
  surfaced as an event of type ``error`` instead of being ignored;
* ``finish()`` dispatches an event left pending when the stream ends without its closing blank
  line, rather than dropping the server's last words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SSEDecoder:
    """Turns event-stream lines (without their line terminator) into ``SSEEvent`` values."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._first_line = True

    def feed_line(self, line: str) -> SSEEvent | None:
        """Consume one line; return the event it completes, if any."""
        if self._first_line:
            self._first_line = False
            line = line.removeprefix("\ufeff")
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            # The spec ignores ids containing NUL.
            if "\0" not in value:
                self._id = value
        elif name == "error":
            self._event = "error"
            self._data.append(value)
        # "retry" and unknown fields are ignored, as the spec says.
        return None

    def finish(self) -> SSEEvent | None:
        """The stream ended: return the event still pending (see the module docstring)."""
        return self._dispatch()

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(data="\n".join(self._data), event=self._event or "message", id=self._id)
        self._data = []
        self._event = ""
        return event
