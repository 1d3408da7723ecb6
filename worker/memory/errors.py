"""Exceptions of the memory package; ``code`` is the protocol error code each maps to."""

from __future__ import annotations


class InvalidMemory(ValueError):
    """A memory was refused before anything was written (bad kind, range, or empty text).

    The message names the field and the value; the caller should fix what it passes in.
    """

    code = "bad_request"
