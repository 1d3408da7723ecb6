"""Drive a ``ChatSession`` one typed line at a time and read what it printed."""

from __future__ import annotations

import io

from client.commands import parse_line
from client.session import ChatSession


async def run(session: ChatSession, out: io.StringIO, line: str) -> str:
    """Handle ``line`` as if typed; returns only what this line printed."""
    out.seek(0)
    out.truncate()
    await session.handle(parse_line(line))
    return out.getvalue()
