"""Which part of greenroom answers each client request, and what it needs first.

A table, not a chain of ``if``s: every ``message_type`` a client may send maps to one
``Handling``. Tests check that the table covers ``CLIENT_MESSAGE_TYPES`` exactly, so a new
message type cannot be forgotten here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from protocol.unions import CLIENT_MESSAGE_TYPES


class Handling(StrEnum):
    """How the gateway treats one kind of request."""

    GATEWAY = "gateway"
    """Answered by the gateway itself; needs no character (ping, hello, characters, cancel)."""

    ATTACH = "attach"
    """``init_request``: the gateway attaches the session, then asks the worker for the
    character's description."""

    ADMIN = "admin"
    """Answered by the gateway through the worker pool (workers, restart, debug). Every
    request of this handling is an admin request (``ADMIN_KINDS``): refused to a connection
    that sent an ``Origin`` unless it presented the server's token."""

    TURN = "turn"
    """Changes the character's conversation or state: forwarded to the worker through the
    character's turn queue, one at a time per character."""

    DIRECT = "direct"
    """Reads (or touches only snapshots): forwarded to the worker at once, also while a turn
    is streaming."""


HANDLING: Final[dict[str, Handling]] = {
    "ping_request": Handling.GATEWAY,
    "hello": Handling.GATEWAY,
    "characters_request": Handling.GATEWAY,
    "cancel_request": Handling.GATEWAY,
    "init_request": Handling.ATTACH,
    "workers_request": Handling.ADMIN,
    "restart_request": Handling.ADMIN,
    "debug_request": Handling.ADMIN,
    "chat_request": Handling.TURN,
    "regenerate_request": Handling.TURN,
    "undo_request": Handling.TURN,
    "select_alternative_request": Handling.TURN,
    "reset_request": Handling.TURN,
    "load_request": Handling.TURN,
    "status_request": Handling.DIRECT,
    "memory_search_request": Handling.DIRECT,
    "save_request": Handling.DIRECT,
    "snapshots_request": Handling.DIRECT,
    "delete_snapshot_request": Handling.DIRECT,
    "export_request": Handling.DIRECT,
    "alternatives_request": Handling.DIRECT,
}

if set(HANDLING) != CLIENT_MESSAGE_TYPES:  # pragma: no cover - caught at import, in every test
    raise RuntimeError(
        "gateway HANDLING table out of date with protocol.CLIENT_MESSAGE_TYPES: "
        f"missing {sorted(CLIENT_MESSAGE_TYPES - set(HANDLING))}, "
        f"extra {sorted(set(HANDLING) - CLIENT_MESSAGE_TYPES)}"
    )

ALLOWED_BEFORE_AUTH: Final[frozenset[str]] = frozenset({"hello"})
"""With a token configured, a session not authenticated by its handshake header may send only
``hello`` (carrying the token)."""


def handling_of(message_type: str) -> Handling:
    """The handling of a decoded client message's type (``KeyError`` for a non-request)."""
    return HANDLING[message_type]


ADMIN_KINDS: Final[frozenset[str]] = frozenset(
    message_type for message_type, handling in HANDLING.items() if handling is Handling.ADMIN
)
"""Requests that control workers (restart, debug, list): refused to web pages unless they
presented the server's token (see ``Gateway._may_administer``)."""


def is_admin(message_type: str) -> bool:
    """True for a request that controls workers rather than talking to a character."""
    return message_type in ADMIN_KINDS


def needs_character(message_type: str) -> bool:
    """True when the request is meaningless until the session is attached to a character."""
    return HANDLING[message_type] in (Handling.TURN, Handling.DIRECT)
