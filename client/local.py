"""``LocalCharacter``: a character hosted in this process, behind ``Character``.

For local mode (``greenroom chat --local``, or the fallback when no server answers). The
``Character`` methods are ``client.character.LinkedCharacter``'s, the same as remote; the link
is ``client.in_process_link.InProcessLink``, which runs the worker's real ``CharacterService``
here. So local answers, errors (the same ``GreenroomError`` codes) and events (a
``vitals_event`` after each change) are the worker's own. Importing this module loads the
engine: front ends import it only when they go local.
"""

from __future__ import annotations

from typing import Final

from client.character import LinkedCharacter
from client.event_hub import EventHub
from client.in_process_link import InProcessLink
from runtime.settings import Settings

DEFAULT_USER: Final = "user"


class LocalCharacter(LinkedCharacter):
    """A character hosted in-process; satisfies ``client.interface.Character``.

    Build with ``LocalCharacter(settings, user=...)`` then ``await attach(id)``; always
    ``await close()``. Not thread-safe; one asyncio loop.
    """

    def __init__(self, settings: Settings, *, user: str | None = None) -> None:
        hub = EventHub()
        link = InProcessLink(settings, user=user or DEFAULT_USER, publish=hub.publish)
        super().__init__(link, hub)
