"""Which part of greenroom answers each client request, and what it needs first.

A table, not a chain of ``if``s: every ``message_type`` a client may send maps to one
``Handling``. The table is derived from the requests' declarations (``@request(handling=...)``
above each class in ``protocol/``), so a new request cannot be forgotten here; the gateway's
own rules on top of it are checked at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from protocol.declaration import Handling
from protocol.unions import REQUESTS

HANDLING: Final[Mapping[str, Handling]] = {
    message_type: request.handling for message_type, request in REQUESTS.items()
}
"""The ``Handling`` of every ``message_type`` a client may send."""

ALLOWED_BEFORE_AUTH: Final[frozenset[str]] = frozenset({"hello"})
"""With a token configured, a session not authenticated by its handshake header may send only
``hello`` (carrying the token)."""


def check_gateway_rules(
    handling: Mapping[str, Handling], allowed_before_auth: frozenset[str]
) -> None:
    """Raise ``RuntimeError`` unless every request allowed before authentication is one the
    gateway answers itself (an unauthenticated session must reach no character and no
    worker)."""
    reaching_further = {
        message_type for message_type in allowed_before_auth
        if handling.get(message_type) is not Handling.GATEWAY
    }
    if reaching_further:
        raise RuntimeError(
            "ALLOWED_BEFORE_AUTH names requests the gateway does not answer itself: "
            f"{sorted(reaching_further)}"
        )


check_gateway_rules(HANDLING, ALLOWED_BEFORE_AUTH)


def handling_of(message_type: str) -> Handling:
    """The handling of a decoded client message's type (``KeyError`` for a non-request)."""
    return HANDLING[message_type]


ADMIN_KINDS: Final[frozenset[str]] = frozenset(
    message_type for message_type, handling in HANDLING.items() if handling is Handling.ADMIN
)
"""Requests that control workers (restart, debug, list): refused to web pages unless they
presented the server's token (see ``admission.may_administer``)."""


def is_admin(message_type: str) -> bool:
    """True for a request that controls workers rather than talking to a character."""
    return message_type in ADMIN_KINDS


def needs_character(message_type: str) -> bool:
    """True when the request is meaningless until the session is attached to a character."""
    return HANDLING[message_type] in (Handling.TURN, Handling.DIRECT)
