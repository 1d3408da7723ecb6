"""The message unions per direction and the tables around them, derived from declarations.

Nothing here lists a message: each declares itself once, above its class
(``protocol.declaration``), and ``catalogue_of`` turns the declarations of every message in
``SUBJECT_MODULES`` into the unions and tables below, checking them as a whole. A message
without a declaration, or one that does not fit the rest, makes this module fail to import.

``ClientMessage`` is everything a client may send, ``ServerMessage`` everything a server may
send; each is a msgspec tagged union on ``message_type`` (members in tag order), so one
decoder per direction dispatches on the tag without trying members in turn. The type checker
sees them as ``Message`` (``EventMessage`` as ``Event``): the closed set exists only once
the declarations have run; ``match``/``isinstance`` narrow as usual.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import msgspec

from protocol import (
    admin,
    chat,
    errors,
    events,
    inspection,
    memories,
    queries,
    session,
    snapshots,
    trace,
)
from protocol.declaration import (
    DeclarationError,
    DeclaredEvent,
    DeclaredFailure,
    DeclaredRequest,
    DeclaredResponse,
    MessageDeclaration,
    PipeDirection,
    frame_declaration,
    message_declaration,
)
from protocol.envelope import Event, Message
from protocol.states import EventKind

SUBJECT_MODULES: Final[tuple[ModuleType, ...]] = (
    session, chat, queries, memories, snapshots, inspection, trace, admin, events, errors,
)
"""The modules whose messages make up the WebSocket protocol (a new module is added here;
a new message in one of them needs nothing but its declaration)."""


def message_type_of(cls: type[Message]) -> str:
    """The wire tag (``message_type``) of a message class."""
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{cls.__name__} is not a tagged message class")
    return tag


def messages_in(modules: Iterable[ModuleType]) -> list[type[Message]]:
    """Every ``Message`` class defined (not imported) in ``modules``, in definition order."""
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Message)
        and value.__module__ == module.__name__
    ]


class Catalogue(msgspec.Struct, frozen=True):
    """What the declarations of a set of messages add up to (every sequence in tag order)."""

    client: tuple[type[Message], ...]
    server: tuple[type[Message], ...]
    requests: Mapping[str, DeclaredRequest]
    responses: Mapping[type[Message], type[Message]]
    seed: frozenset[str]
    subscriptions: Mapping[type[Event], EventKind]


def catalogue_of(messages: Iterable[type[Message]]) -> Catalogue:
    """Derive the catalogue of ``messages`` from their declarations.

    Raises ``DeclarationError`` when a message has no declaration, when two messages share a
    tag, when a request's ``answer`` names no declared response, when a seed-era request is
    answered by a newer response, or when a response answers no request.
    """
    by_tag: dict[str, tuple[type[Message], MessageDeclaration]] = {}
    for cls in messages:
        tag = message_type_of(cls)
        if tag in by_tag:
            raise DeclarationError(
                f"{cls.__name__} and {by_tag[tag][0].__name__} share the tag {tag!r}"
            )
        by_tag[tag] = (cls, message_declaration(cls))
    by_tag = dict(sorted(by_tag.items()))

    requests = {tag: d for tag, (_, d) in by_tag.items() if isinstance(d, DeclaredRequest)}
    responses: dict[type[Message], type[Message]] = {}
    for tag, request in requests.items():
        answer_cls, answer = by_tag.get(request.answer, (None, None))
        if answer_cls is None or not isinstance(answer, DeclaredResponse):
            raise DeclarationError(
                f"{tag} is answered by {request.answer!r}, which is no declared @response"
            )
        if request.seed and not answer.seed:
            raise DeclarationError(
                f"seed-era {tag} is answered by {request.answer}, which is not seed-era"
            )
        responses[by_tag[tag][0]] = answer_cls
    answers = {request.answer for request in requests.values()}
    for tag, (_, declaration) in by_tag.items():
        if isinstance(declaration, DeclaredResponse) and tag not in answers:
            raise DeclarationError(f"{tag} is a @response that no @request names as its answer")

    return Catalogue(
        client=tuple(by_tag[tag][0] for tag in requests),
        # every declaration but a request's goes server -> client
        server=tuple(cls for cls, d in by_tag.values() if not isinstance(d, DeclaredRequest)),
        requests=requests,
        responses=responses,
        seed=frozenset(
            tag for tag, (_, d) in by_tag.items()
            if isinstance(d, DeclaredRequest | DeclaredResponse | DeclaredFailure) and d.seed
        ),
        subscriptions={
            cls: d.subscription for cls, d in by_tag.values()
            if isinstance(d, DeclaredEvent) and issubclass(cls, Event)
        },
    )


def frames_in(module: ModuleType, base: type[msgspec.Struct]) -> dict[PipeDirection, list[type]]:
    """Every ``base`` subclass defined in ``module`` by declared direction, each in tag order.

    Raises ``DeclarationError`` for a frame without a ``@to_worker``/``@from_worker``.
    """
    frames = sorted(
        (value for value in vars(module).values()
         if isinstance(value, type) and issubclass(value, base) and value is not base
         and value.__module__ == module.__name__),
        key=lambda frame: str(frame.__struct_config__.tag),
    )
    by_direction: dict[PipeDirection, list[type]] = {direction: [] for direction in PipeDirection}
    for frame in frames:
        by_direction[frame_declaration(frame).direction].append(frame)
    return by_direction


def union_of(members: Iterable[type]) -> Any:
    """``A | B | ...`` of ``members`` (a msgspec tagged union when they are tagged Structs)."""
    return functools.reduce(operator.or_, members)


_CATALOGUE: Final = catalogue_of(messages_in(SUBJECT_MODULES))

if TYPE_CHECKING:
    ClientMessage: TypeAlias = Message
    ServerMessage: TypeAlias = Message
    EventMessage: TypeAlias = Event
else:
    ClientMessage = union_of(_CATALOGUE.client)
    ServerMessage = union_of(_CATALOGUE.server)
    EventMessage = union_of(_CATALOGUE.subscriptions)

REQUESTS: Final[Mapping[str, DeclaredRequest]] = _CATALOGUE.requests
"""Every ``message_type`` a client may send, with its declaration (answer, handling, seed)."""

RESPONSE_TYPES: Final[Mapping[type[Message], type[Message]]] = _CATALOGUE.responses
"""The success response class of each request class (any request may also get
``error_response``; streamed chats get ``chat_delta`` frames first)."""

CLIENT_MESSAGE_TYPES: Final[frozenset[str]] = frozenset(REQUESTS)
"""Every ``message_type`` a client may send (what ``hello_response.capabilities`` lists)."""

SERVER_MESSAGE_TYPES: Final[frozenset[str]] = frozenset(
    message_type_of(cls) for cls in _CATALOGUE.server
)
"""Every ``message_type`` a server may send."""

SEED_MESSAGE_TYPES: Final[frozenset[str]] = _CATALOGUE.seed
"""Every ``message_type`` of the seed-era contract; a seed-era client sees only these."""

EVENT_SUBSCRIPTIONS: Final[Mapping[type[Event], EventKind]] = _CATALOGUE.subscriptions
"""The ``hello.subscribe`` kind that delivers each event class."""


def response_type_for(request_type: str) -> str:
    """The ``message_type`` of the success response to ``request_type``.

    Raises ``KeyError`` for a type that is not a client request.
    """
    return REQUESTS[request_type].answer
