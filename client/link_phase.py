"""Where a WebSocket link to a server stands, as one transition table (h11 ``_state.py``
style): every move is ``(phase, event) → phase``, and any pair not in the table raises.

Pure: no I/O, no clock. ``client.websocket_link`` keeps the current phase and moves it only
through ``next_phase``, so a move nobody planned for (say, ``connected`` after ``close``) is a
loud ``LinkPhaseError`` instead of a phase quietly drifting.
"""

from __future__ import annotations

from typing import Final, Literal

Phase = Literal["idle", "connecting", "connected", "reconnecting", "gone", "closed"]
"""``idle``: built, never opened. ``connecting``: the first round of attempts. ``connected``:
greeted (and attached, when a character is set); requests flow. ``reconnecting``: the
connection dropped or a request asked for a new round; attempts are under way. ``gone``: a
whole round failed; the next request starts another. ``closed``: for good."""

LinkEvent = Literal["open", "connected", "dropped", "gave_up", "retry", "close"]
"""``open``: the first round starts. ``connected``: an attempt succeeded. ``dropped``: the live
connection ended. ``gave_up``: a reconnection round failed. ``retry``: a request wants a new
round. ``close``: the owner closed the link (also when the first round failed)."""

PHASES: Final[tuple[Phase, ...]] = (
    "idle", "connecting", "connected", "reconnecting", "gone", "closed",
)
EVENTS: Final[tuple[LinkEvent, ...]] = (
    "open", "connected", "dropped", "gave_up", "retry", "close",
)

TRANSITIONS: Final[dict[tuple[Phase, LinkEvent], Phase]] = {
    ("idle", "open"): "connecting",
    ("idle", "close"): "closed",
    ("connecting", "connected"): "connected",
    ("connecting", "close"): "closed",
    ("connected", "dropped"): "reconnecting",
    ("connected", "close"): "closed",
    ("reconnecting", "connected"): "connected",
    ("reconnecting", "gave_up"): "gone",
    ("reconnecting", "close"): "closed",
    ("gone", "retry"): "reconnecting",
    ("gone", "close"): "closed",
}
"""Every allowed move. ``closed`` has none: a closed link stays closed."""

SETTLED: Final[frozenset[Phase]] = frozenset({"idle", "connected", "gone", "closed"})
"""Phases a request may act on (send, or fail at once); in the others it waits."""


class LinkPhaseError(RuntimeError):
    """A move the table does not allow: a bug in the link, never a network condition."""


def next_phase(phase: Phase, event: LinkEvent) -> Phase:
    """The phase after ``event`` in ``phase``; raises ``LinkPhaseError`` for any other pair."""
    try:
        return TRANSITIONS[(phase, event)]
    except KeyError:
        raise LinkPhaseError(f"link event {event!r} cannot happen in phase {phase!r}") from None
