"""Each message is declared once, and everything about it is derived from that declaration:
a message without one, or one that does not fit the others, fails at import."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from types import ModuleType
from typing import Any, get_args

import msgspec
import pytest

import protocol
from protocol import chat, pipe, unions
from protocol.declaration import (
    DeclarationError,
    Handling,
    event,
    failure,
    from_worker,
    request,
    response,
    stream_frame,
    to_worker,
)
from protocol.envelope import Event, Message
from protocol.unions import (
    EVENT_SUBSCRIPTIONS,
    REQUESTS,
    ClientMessage,
    ServerMessage,
    catalogue_of,
    frames_in,
    message_type_of,
    messages_in,
)


def _import_unions_afresh(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Run ``protocol/unions.py`` again, as a first import would, into a module of its own."""
    spec = importlib.util.spec_from_file_location("unions_afresh", unions.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    spec.loader.exec_module(module)
    return module


def _place_in_chat(monkeypatch: pytest.MonkeyPatch, *classes: type) -> None:
    """Make ``classes`` look as if written in ``protocol/chat.py``."""
    for cls in classes:
        monkeypatch.setattr(cls, "__module__", chat.__name__)
        monkeypatch.setattr(chat, cls.__name__, cls, raising=False)


def test_a_message_without_a_declaration_fails_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class ForgottenRequest(Message, tag="forgotten_request"):
        """A new request whose author forgot the decorator."""

    _place_in_chat(monkeypatch, ForgottenRequest)
    with pytest.raises(DeclarationError, match=r"protocol\.chat\..*ForgottenRequest has no decl"):
        _import_unions_afresh(monkeypatch)


def test_a_declared_message_needs_no_other_edit(monkeypatch: pytest.MonkeyPatch) -> None:
    @request(answer="wave_response", handling=Handling.DIRECT)
    class WaveRequest(Message, tag="wave_request"):
        """A new request: its declaration is the only edit."""

    @response()
    class WaveResponse(Message, tag="wave_response"):
        """Answers ``wave_request``."""

    _place_in_chat(monkeypatch, WaveRequest, WaveResponse)
    fresh = _import_unions_afresh(monkeypatch)
    assert WaveRequest in get_args(fresh.ClientMessage)
    assert WaveResponse in get_args(fresh.ServerMessage)
    assert fresh.RESPONSE_TYPES[WaveRequest] is WaveResponse
    assert fresh.REQUESTS["wave_request"].handling is Handling.DIRECT
    assert "wave_request" in fresh.CLIENT_MESSAGE_TYPES
    assert "wave_response" in fresh.SERVER_MESSAGE_TYPES
    assert not {"wave_request", "wave_response"} & fresh.SEED_MESSAGE_TYPES
    assert fresh.response_type_for("wave_request") == "wave_response"


def test_every_message_of_the_protocol_package_is_in_a_union() -> None:
    modules = [
        importlib.import_module(f"protocol.{info.name}")
        for info in pkgutil.iter_modules(protocol.__path__)
    ]
    in_unions = set(get_args(ClientMessage)) | set(get_args(ServerMessage))
    bases = {Message, Event}
    outside = [cls.__name__ for cls in messages_in(modules) if cls not in in_unions | bases]
    assert not outside, f"messages of a module missing from SUBJECT_MODULES: {outside}"


def test_union_members_are_in_tag_order() -> None:
    for union in (ClientMessage, ServerMessage):
        tags = [message_type_of(cls) for cls in get_args(union)]
        assert tags == sorted(tags)


def test_every_subscription_kind_delivers_one_event() -> None:
    assert sorted(EVENT_SUBSCRIPTIONS.values()) == ["turns", "vitals", "worker_state"]


def test_handling_is_declared_for_every_request() -> None:
    assert all(isinstance(declared.handling, Handling) for declared in REQUESTS.values())


# What the catalogue refuses, one check per test.


def test_two_messages_with_one_tag_are_refused() -> None:
    @response()
    class First(Message, tag="twin_tag"):
        pass

    @stream_frame
    class Second(Message, tag="twin_tag"):
        pass

    with pytest.raises(DeclarationError, match="share the tag 'twin_tag'"):
        catalogue_of([First, Second])


def test_a_request_answered_by_an_undeclared_tag_is_refused() -> None:
    @request(answer="nowhere_response", handling=Handling.DIRECT)
    class LostRequest(Message, tag="lost_request"):
        pass

    with pytest.raises(DeclarationError, match="lost_request is answered by 'nowhere_response'"):
        catalogue_of([LostRequest])


@pytest.mark.parametrize("declare", [stream_frame, failure(seed=False)])
def test_a_request_answered_by_a_message_that_is_no_response_is_refused(declare: Any) -> None:
    @request(answer="partial_answer", handling=Handling.TURN)
    class PartialRequest(Message, tag="partial_request"):
        pass

    class PartialAnswer(Message, tag="partial_answer"):
        pass

    declare(PartialAnswer)
    with pytest.raises(DeclarationError, match="which is no declared @response"):
        catalogue_of([PartialRequest, PartialAnswer])


def test_a_seed_request_answered_by_a_newer_response_is_refused() -> None:
    @request(answer="newer_response", handling=Handling.DIRECT, seed=True)
    class OldRequest(Message, tag="old_request"):
        pass

    @response()
    class NewerResponse(Message, tag="newer_response"):
        pass

    with pytest.raises(DeclarationError, match=r"seed-era old_request .* not seed-era"):
        catalogue_of([OldRequest, NewerResponse])


def test_a_response_that_answers_no_request_is_refused() -> None:
    @response()
    class OrphanResponse(Message, tag="orphan_response"):
        pass

    with pytest.raises(DeclarationError, match="orphan_response is a @response that no"):
        catalogue_of([OrphanResponse])


# What a decorator refuses on its own.


def test_a_handling_that_is_no_handling_is_refused() -> None:
    with pytest.raises(DeclarationError, match="handling must be a Handling"):
        request(answer="x_response", handling="turn")  # type: ignore[arg-type]


def test_an_event_subscription_outside_the_vocabulary_is_refused() -> None:
    with pytest.raises(DeclarationError, match="subscription must be one of"):
        event(subscription="weather")  # type: ignore[arg-type]


def test_an_event_that_is_no_event_is_refused() -> None:
    class NotAnEvent(Message, tag="not_an_event"):
        pass

    with pytest.raises(DeclarationError, match="no Event"):
        event(subscription="vitals")(NotAnEvent)  # type: ignore[type-var]


def test_a_declared_event_carries_its_subscription() -> None:
    @event(subscription="turns")
    class Echo(Event, tag="echo_event"):
        pass

    assert catalogue_of([Echo]).subscriptions == {Echo: "turns"}


def test_a_message_without_a_tag_cannot_be_declared() -> None:
    class Untagged(Message):
        pass

    with pytest.raises(DeclarationError, match="needs a snake_case tag on 'message_type'"):
        response()(Untagged)


def test_a_message_cannot_be_declared_twice() -> None:
    @response()
    class Twice(Message, tag="twice_response"):
        pass

    with pytest.raises(DeclarationError, match="declared twice"):
        stream_frame(Twice)


def test_a_struct_that_is_no_message_cannot_be_declared_a_message() -> None:
    class Loose(msgspec.Struct, tag_field="message_type", tag="loose"):
        pass

    with pytest.raises(DeclarationError, match="no Message"):
        response()(Loose)  # type: ignore[type-var]


def test_a_message_cannot_be_declared_a_pipe_frame() -> None:
    class Misfiled(Message, tag="misfiled"):
        pass

    with pytest.raises(DeclarationError, match="needs a snake_case tag on 'kind'"):
        to_worker(Misfiled)


# Pipe frames.


def test_pipe_frames_split_by_their_declared_direction() -> None:
    assert {message_type_of_frame(f) for f in get_args(pipe.ToWorker)} == {
        "request", "cancel", "export_credit", "heartbeat", "shutdown", "start_debugger",
    }
    assert {message_type_of_frame(f) for f in get_args(pipe.FromWorker)} == {
        "reply", "progress", "event", "ready", "heartbeat_ack", "log", "debugger_started",
        "fatal",
    }


def test_a_pipe_frame_without_a_declaration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stray(pipe.PipeFrame, tag="stray"):
        pass

    @from_worker
    class Known(pipe.PipeFrame, tag="known"):
        pass

    module = ModuleType("frames_probe")
    for cls in (Stray, Known):
        monkeypatch.setattr(cls, "__module__", module.__name__)
        setattr(module, cls.__name__, cls)
    with pytest.raises(DeclarationError, match=r"pipe frame frames_probe\..*Stray has no decl"):
        frames_in(module, pipe.PipeFrame)


def message_type_of_frame(frame: type[msgspec.Struct]) -> str:
    return str(frame.__struct_config__.tag)
