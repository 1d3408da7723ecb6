"""A request nobody waits for — the model's notes after a turn, the embeddings of what they
wrote — asked of a server that other characters' replies stream from: it yields to them,
and its answer is whole or nothing.

``in_background`` (and ``answer_in_background``, a whole generation) promises, for a
``GuardedBackend`` (whose ``claims`` see every
worker's replies to the same server, ``worker.backends.server_claims``):

* **Never starts beside a reply.** It goes only once it holds the server's background
  claim (no reply streams, no other background request runs); until then it tries again
  after ``BackgroundPatience.backoff`` (0.25 s, doubling, at most 5 s), and gives up with
  ``ServerBusy`` after ``patience_s`` in all (logged by the caller).
* **Yields to a reply that starts.** While it streams, it checks every ``POLL_S`` whether a
  reply wants the server; if so it closes its request at once (the server stops
  generating it) and is asked again from the start once the server is free. A request the
  server cuts short (``LLMIncomplete``: llama-cpp-python's answer to the reply's arrival)
  is asked again the same way. After ``max_cuts`` such restarts it gives up (``ServerBusy``).
* **Whole or nothing.** It returns only a complete answer (its first ``max_chars``); a cut
  one is thrown away.
* **Cancellable.** Cancelling it closes the request and releases the claim.

Logs (the caller's ``character`` bound in): ``background_request_waiting`` (the first time
it finds the server busy; ``waiting_for``: a reply, or which character's background
request), ``background_request_yielded`` (it gave the server up to a reply, or was cut),
``background_request_started`` after a wait (how long it waited).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Final, TypeVar

import structlog

from worker.backends.availability import GuardedBackend
from worker.backends.backoff import ExponentialBackoff
from worker.backends.base import (
    Backend,
    BackendError,
    GenerationRequest,
    LLMIncomplete,
    TextDelta,
    closing_stream,
)
from worker.backends.http_transport import Sleep
from worker.backends.server_claims import HANDOFF_S, BackgroundClaim, ServerBusyWith

#: How often a streaming background request checks whether a reply wants the server (s).
POLL_S: Final = 0.02
RETRY_BACKOFF: Final = ExponentialBackoff(initial_s=0.25, factor=2.0, max_s=5.0)

log = structlog.get_logger()
T = TypeVar("T")


class ServerBusy(BackendError):
    """A background request found no free moment on its server within its patience."""

    code = "timeout"


class _ReplyStarted(Exception):
    """A reply wants the server: the background request was closed."""


@dataclass(frozen=True, slots=True)
class BackgroundPatience:
    """How long a background request waits for its server, and how often it starts over."""

    backoff: ExponentialBackoff = RETRY_BACKOFF
    patience_s: float = 120.0
    max_cuts: int = 5


DEFAULT_PATIENCE: Final = BackgroundPatience()


async def answer_in_background(
    backend: Backend, request: GenerationRequest, *, character: str, max_chars: int,
    patience: BackgroundPatience = DEFAULT_PATIENCE,
    clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep,
) -> str:
    """The whole answer to ``request`` (its first ``max_chars``), asked as ``character``'s
    background work (see the module). A backend without claims (the offline ``scripted``
    one) is simply asked. Raises ``ServerBusy`` or the backend's own ``BackendError``."""
    request = replace(request, background=True)
    return await in_background(
        backend, lambda claim: _collect(backend, request, claim, max_chars),
        character=character, patience=patience, clock=clock, sleep=sleep)


async def in_background(
    backend: Backend, work: Callable[[BackgroundClaim | None], Awaitable[T]], *,
    character: str, patience: BackgroundPatience = DEFAULT_PATIENCE,
    clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep,
) -> T:
    """``work(claim)`` — requests to ``backend``'s server that nobody waits for — run as
    ``character``'s background work (see the module): started anew (``work`` is called
    again) when a reply wants the server or the server cut it short. ``work`` may call
    ``claim.handed_over()`` once its request reached the server (else that is assumed
    after ``HANDOFF_S``). A backend without claims: ``work(None)``, once."""
    if not isinstance(backend, GuardedBackend):
        return await work(None)
    claims = backend.claims
    began = clock()
    busy = 0
    cuts = 0
    while True:
        claim = claims.try_background(character)
        if isinstance(claim, ServerBusyWith):
            busy += 1
            waited = clock() - began
            if waited >= patience.patience_s:
                raise ServerBusy(
                    f"gave up the background request of character {character!r} after waiting"
                    f" {waited:.0f}s for {claims.base_url} to be free of replies (and of"
                    " other characters' background requests)")
            if busy == 1:
                log.info("background_request_waiting", server=claims.base_url,
                         waiting_for=claim.what)
            await sleep(patience.backoff.delay_s(busy))
            continue
        try:
            done = await _watched(work, claim)
        except (_ReplyStarted, LLMIncomplete) as problem:
            cuts += 1
            reason = ("a reply started" if isinstance(problem, _ReplyStarted)
                      else "the server cut it short")
            log.info("background_request_yielded", server=claims.base_url, reason=reason,
                     restarts=cuts)
            if cuts > patience.max_cuts:
                raise ServerBusy(
                    f"gave up the background request of character {character!r}: replies"
                    f" interrupted it {cuts} times on {claims.base_url}") from problem
            busy = 0
            continue
        finally:
            claim.release()
        if busy or cuts:
            log.info("background_request_started", server=claims.base_url,
                     waited_ms=round((clock() - began) * 1000, 1), restarts=cuts)
        return done


async def _watched(work: Callable[[BackgroundClaim | None], Awaitable[T]],
                   claim: BackgroundClaim) -> T:
    """Run ``work`` while checking, every ``POLL_S``, that no reply wants the server."""
    working = asyncio.ensure_future(work(claim))
    handed_over_at = asyncio.get_running_loop().time() + HANDOFF_S
    try:
        while True:
            done, _ = await asyncio.wait({working}, timeout=POLL_S)
            if done:
                return working.result()
            if asyncio.get_running_loop().time() >= handed_over_at:
                claim.handed_over()
            if claim.reply_waiting():
                raise _ReplyStarted
    finally:
        if not working.done():
            working.cancel()
            await asyncio.wait({working})


async def _collect(backend: Backend, request: GenerationRequest, claim: BackgroundClaim | None,
                   max_chars: int) -> str:
    pieces: list[str] = []
    size = 0
    async with closing_stream(backend.generate(request)) as stream:
        async for event in stream:
            if claim is not None:
                claim.handed_over()  # the server has it: replies may come
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                size += len(event.text)
                if size >= max_chars:
                    break
    return "".join(pieces)
