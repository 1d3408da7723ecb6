"""``CharacterClient``: a character on a greenroom server, over one WebSocket.

The ``Character`` methods are ``client.character.LinkedCharacter``'s; the connection (frames,
request table, reconnection, phase) is ``client.websocket_link.WebSocketLink``'s. This class
is what puts the two together, with the options a front end sets.
"""

from __future__ import annotations

from typing import Unpack

from client.character import LinkedCharacter
from client.event_hub import EventHub
from client.websocket_link import ConnectOptions, WebSocketLink


class CharacterClient(LinkedCharacter):
    """A remote character; satisfies ``client.interface.Character``.

    Use ``await CharacterClient.connect(url, character_id=...)`` (or construct, subscribe to
    ``events()`` to see the first connection attempts, then ``await open(...)``), and always
    ``await close()`` (or ``async with``). The options are ``ConnectOptions``.
    """

    def __init__(self, url: str, **options: Unpack[ConnectOptions]) -> None:
        hub = EventHub()
        self._websocket = WebSocketLink(url, publish=hub.publish, **options)
        super().__init__(self._websocket, hub)

    @classmethod
    async def connect(cls, url: str, *, character_id: str | None = None,
                      **options: Unpack[ConnectOptions]) -> CharacterClient:
        """Connect, say hello and (with ``character_id``) attach. Raises ``ConnectionFailed``
        when no attempt succeeds, or the server's error (``Unauthorized``,
        ``CharacterNotFound``, ...)."""
        client = cls(url, **options)
        try:
            await client.open(character_id)
        except BaseException:
            await client.close()
            raise
        return client

    @property
    def url(self) -> str:
        return self._websocket.url

    async def open(self, character_id: str | None = None) -> None:
        """First connection (with retries), then attach to ``character_id`` if given."""
        await self._websocket.open(character_id)

    async def __aenter__(self) -> CharacterClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
