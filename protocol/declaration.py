"""How a message says what it is: one decorator above its class, the only place it is said.

Every WebSocket message and every pipe frame carries exactly one declaration::

    @request(answer="chat_response", handling=Handling.TURN, seed=True)
    class ChatRequest(Message, tag="chat_request"): ...

    @response(seed=True)
    class ChatResponse(Message, tag="chat_response"): ...

The declaration names the message's direction (by its kind: a ``request`` goes client →
server; a ``response``, ``stream_frame``, ``event`` or ``failure`` server → client;
``to_worker``/``from_worker`` frames travel only on the worker pipe), whether it belongs to
the seed-era contract, which response answers a request and how the gateway handles it.
``protocol.unions`` derives the unions, the seed set and the response table from these
records (``supervisor.gateway.request_kinds`` the gateway's handling table), and refuses at
import a message that has none.

A decorator checks what it can see alone (the class's base and tag, the type of each
argument) and raises ``DeclarationError`` at once; what needs every message (an answer naming
a real response, unique tags) is checked where the catalogue is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Final, TypeVar, get_args

import msgspec

from protocol.envelope import Event, Message
from protocol.states import EventKind

M = TypeVar("M", bound=type[Message])
E = TypeVar("E", bound=type[Event])
F = TypeVar("F", bound=type[msgspec.Struct])
D = TypeVar("D")


class DeclarationError(TypeError):
    """A message or frame is declared wrongly, or not at all. Raised at import: it is a bug
    in the protocol package, never a reaction to input."""


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


class DeclaredRequest(msgspec.Struct, frozen=True):
    """Client → server. ``answer`` is the ``message_type`` of its success response (any
    request may also get ``error_response``)."""

    answer: str
    handling: Handling
    seed: bool


class DeclaredResponse(msgspec.Struct, frozen=True):
    """Server → client: the success answer to every request whose ``answer`` names it."""

    seed: bool


class DeclaredStreamFrame(msgspec.Struct, frozen=True):
    """Server → client: a piece of a request's answer, sent before its response (opt-in)."""


class DeclaredEvent(msgspec.Struct, frozen=True):
    """Server → client: pushed to the sessions subscribed to ``subscription`` (opt-in)."""

    subscription: EventKind


class DeclaredFailure(msgspec.Struct, frozen=True):
    """Server → client: the answer to any request that failed."""

    seed: bool


class PipeDirection(StrEnum):
    """Which way a pipe frame travels between the gateway/supervisor and a worker."""

    TO_WORKER = "to_worker"
    FROM_WORKER = "from_worker"


class DeclaredFrame(msgspec.Struct, frozen=True):
    """A frame of the worker pipe only; clients never see it."""

    direction: PipeDirection


MessageDeclaration = (
    DeclaredRequest | DeclaredResponse | DeclaredStreamFrame | DeclaredEvent | DeclaredFailure
)

_EVENT_KINDS: Final = frozenset(get_args(EventKind))
_SNAKE_CASE: Final = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")

# Filled by the decorators as the modules are imported; read through the two lookups below.
_messages: dict[type, MessageDeclaration] = {}
_frames: dict[type, DeclaredFrame] = {}


def request(*, answer: str, handling: Handling, seed: bool = False) -> Callable[[M], M]:
    """Declare a client request answered by the message tagged ``answer``."""
    if not isinstance(handling, Handling):
        raise DeclarationError(f"handling must be a Handling, not {handling!r}")
    return _declaring(DeclaredRequest(answer=answer, handling=handling, seed=seed))


def response(*, seed: bool = False) -> Callable[[M], M]:
    """Declare a success response (which requests it answers, they say)."""
    return _declaring(DeclaredResponse(seed=seed))


def stream_frame(cls: M) -> M:
    """Declare a frame sent before a streamed request's response (never seed-era)."""
    return _declaring(DeclaredStreamFrame())(cls)


def event(*, subscription: EventKind) -> Callable[[E], E]:
    """Declare an event, delivered to sessions subscribed to ``subscription`` (never
    seed-era: a seed-era client cannot subscribe)."""
    if subscription not in _EVENT_KINDS:
        raise DeclarationError(
            f"subscription must be one of {sorted(_EVENT_KINDS)}, not {subscription!r}"
        )

    def declare(cls: E) -> E:
        if not issubclass(cls, Event):
            raise DeclarationError(f"{cls.__name__} is declared an event but is no Event")
        return _declaring(DeclaredEvent(subscription=subscription))(cls)

    return declare


def failure(*, seed: bool) -> Callable[[M], M]:
    """Declare the message that answers any failed request."""
    return _declaring(DeclaredFailure(seed=seed))


def to_worker(cls: F) -> F:
    """Declare a pipe frame the gateway/supervisor sends to a worker."""
    _register(_frames, cls, DeclaredFrame(PipeDirection.TO_WORKER), tag_field="kind")
    return cls


def from_worker(cls: F) -> F:
    """Declare a pipe frame a worker sends to the gateway/supervisor."""
    _register(_frames, cls, DeclaredFrame(PipeDirection.FROM_WORKER), tag_field="kind")
    return cls


def message_declaration(cls: type) -> MessageDeclaration:
    """The declaration of message class ``cls``; ``DeclarationError`` saying how to add one
    if it has none (a subclass does not inherit its base's declaration)."""
    try:
        return _messages[cls]
    except KeyError:
        raise DeclarationError(
            f"message {cls.__module__}.{cls.__qualname__} has no declaration: put @request, "
            "@response, @stream_frame, @event or @failure from protocol.declaration above "
            "its class"
        ) from None


def frame_declaration(cls: type) -> DeclaredFrame:
    """The declaration of pipe frame class ``cls``, as ``message_declaration`` does."""
    try:
        return _frames[cls]
    except KeyError:
        raise DeclarationError(
            f"pipe frame {cls.__module__}.{cls.__qualname__} has no declaration: put "
            "@to_worker or @from_worker from protocol.declaration above its class"
        ) from None


def _declaring(declaration: MessageDeclaration) -> Callable[[M], M]:
    def declare(cls: M) -> M:
        if not issubclass(cls, Message):
            raise DeclarationError(f"{cls.__name__} is declared a message but is no Message")
        _register(_messages, cls, declaration, tag_field="message_type")
        return cls

    return declare


def _register(registry: dict[type, D], cls: type, declaration: D, *, tag_field: str) -> None:
    config = getattr(cls, "__struct_config__", None)
    # Without tag= msgspec tags a class by its name, so a forgotten tag shows as no snake_case.
    if (config is None or config.tag_field != tag_field or not isinstance(config.tag, str)
            or not _SNAKE_CASE.fullmatch(config.tag)):
        raise DeclarationError(
            f"{cls.__name__} needs a snake_case tag on {tag_field!r} "
            f'(class {cls.__name__}(..., tag="...")) to be declared'
        )
    if cls in _messages or cls in _frames:
        raise DeclarationError(f"{cls.__name__} is declared twice")
    registry[cls] = declaration
