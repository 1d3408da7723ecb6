"""``CharacterHost``: one character's worker service inside a Ray actor (``--placement ray``).

The Ray placement's counterpart of ``worker.main``: the same ``CharacterService``, driven by
actor method calls instead of fd 3. Frames leave the actor as they leave a worker's pipe —
encoded by ``protocol.frame_codec`` (so the pipe's frame limit holds) — and the gateway
decodes them. Several gateways call one host; each names itself with a ``channel`` string,
and the host maps its ``(channel, request_id)`` onto ids of its own, so two gateways'
request ids never collide inside the service.

* ``start`` opens the engine (raising what stops the character from running) and returns
  where it runs: ``(pid, node id, node address)``.
* ``request`` is a streaming generator: every frame of one request (deltas, progress
  keepalives) until its final reply.
* ``cancel`` and ``credit`` are plain calls; the actor is async, so they run at once, beside
  the turn they cancel (Ray runs an async actor's calls concurrently on its event loop).
* ``events`` is a streaming generator per gateway: the character's ``WorkerEvent`` frames,
  and its log records for the one gateway that asked for them (``serve``'s log sink).
* ``ping`` answers the cast's heartbeat on the actor's event loop: an infinite loop in
  character code stops the answers.
* ``stop`` drains the service (in-flight turns get ``grace_s``) and closes the engine.

The Ray actor class is made from this plain class by the supervisor (``ray.remote``), so
importing this module loads neither Ray nor the engine: ``start`` imports the engine.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from protocol.frame_codec import encode_frame
from protocol.pipe import (
    FromWorker,
    LogRecord,
    WorkerEvent,
    WorkerProgress,
    WorkerReply,
    WorkerRequest,
)
from worker.data_location import DataExpectation, data_problem
from worker.spec import WorkerSpec

if TYPE_CHECKING:
    from worker.service.character_service import CharacterService

SUBSCRIBER_BACKLOG = 10_000
"""Frames an ``events`` stream may have waiting before the host drops that subscriber."""
_END = b""
"""Closes an ``events`` stream (no encoded frame is empty)."""


class DataNotHere(RuntimeError):
    """This node does not hold the character's data; the message says where it is."""


class CharacterHost:
    """One character's ``CharacterService`` behind actor calls; see the module docstring."""

    def __init__(self, spec: WorkerSpec) -> None:
        self._spec = spec
        self._service: CharacterService | None = None
        self._next_id = 0
        self._ids: dict[tuple[str, int], int] = {}
        self._requests: dict[int, tuple[int, asyncio.Queue[bytes]]] = {}
        self._subscribers: dict[str, tuple[bool, asyncio.Queue[bytes]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    async def start(self, expect: DataExpectation) -> tuple[int, str, str, int]:
        """Open the character's engine; returns ``(pid, node id, node address, resident
        bytes)``. Idempotent: a cast that finds this host already started (it took over
        from one that died) gets the same answer. Raises ``DataNotHere`` when this node
        lacks the character's data (``worker.data_location``)."""
        import ray

        from worker.log_forwarding import configure_worker_logging
        from worker.service.character_service import CharacterService

        spec = self._spec
        if self._service is not None:
            return self._where()
        node = ray.get_runtime_context().get_node_id()[:8]
        problem = data_problem(expect, spec.settings.data_dir, spec.character_id, node)
        if problem is not None:
            raise DataNotHere(problem)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        configure_worker_logging(self._send, character_id=spec.character_id,
                                 generation=spec.generation,
                                 level=spec.settings.logging.log_level)
        self._service = await CharacterService.open(spec.character_id, spec.settings, self._send)
        return self._where()

    def _where(self) -> tuple[int, str, str, int]:
        import ray

        return (os.getpid(), ray.get_runtime_context().get_node_id(),
                ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]
                _resident_bytes())

    async def memory(self) -> int:
        """This process's resident memory in bytes (for ``ps``)."""
        return _resident_bytes()

    async def ping(self) -> None:
        """The heartbeat: answered on the event loop that runs the character."""

    async def request(self, channel: str, frame: WorkerRequest) -> AsyncIterator[bytes]:
        """Every frame (encoded) answering ``frame``, its final reply last."""
        service = self._running()
        own_id = self._next_id
        self._next_id += 1
        replies: asyncio.Queue[bytes] = asyncio.Queue()
        key = (channel, frame.request_id)
        self._ids[key] = own_id
        self._requests[own_id] = (frame.request_id, replies)
        try:
            service.submit(WorkerRequest(session_id=frame.session_id, request_id=own_id,
                                         user=frame.user, message=frame.message))
            while (data := await replies.get()) is not _END:
                yield data
        finally:
            # The caller went away (its gateway died, or it cancelled the stream): the
            # request has nobody to answer, so it stops.
            self._ids.pop(key, None)
            if self._requests.pop(own_id, None) is not None:
                service.cancel(own_id)

    async def cancel(self, channel: str, request_id: int) -> None:
        """``WorkerCancel``: the request's stream still ends with its final reply."""
        own_id = self._ids.get((channel, request_id))
        if own_id is not None:
            self._running().cancel(own_id)

    async def credit(self, channel: str, request_id: int) -> None:
        """``ExportCredit``: one more chunk of that streamed export may be sent."""
        own_id = self._ids.get((channel, request_id))
        if own_id is not None:
            self._running().grant_export_credit(own_id)

    async def events(self, channel: str, logs: bool) -> AsyncIterator[bytes]:
        """The character's events (and, with ``logs``, its log records) for ``channel``,
        until the host stops."""
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscribers[channel] = (logs, queue)
        try:
            while (data := await queue.get()) is not _END:
                yield data
        finally:
            if self._subscribers.get(channel, (False, queue))[1] is queue:
                del self._subscribers[channel]

    async def stop(self, grace_s: float) -> None:
        """Refuse new requests, let in-flight ones finish for ``grace_s`` seconds (then
        cancel them), close the engine; every stream ends."""
        service = self._service
        if service is not None:
            await service.drain(grace_s)
            await service.close()
            self._service = None
        for _logs, queue in self._subscribers.values():
            queue.put_nowait(_END)

    def _running(self) -> CharacterService:
        if self._service is None:
            raise RuntimeError(f"character {self._spec.character_id!r} is not running")
        return self._service

    def _send(self, frame: FromWorker) -> None:
        """The service's (and the log chain's) ``send``: encode as the pipe would — raising
        ``ProtocolError`` for a frame over the limit, which the service answers — and hand
        the bytes to the stream they belong to. Log records may come from any thread."""
        if isinstance(frame, LogRecord | WorkerEvent):
            data = encode_frame(frame)
            logs_only = isinstance(frame, LogRecord)
            for channel, (logs, queue) in list(self._subscribers.items()):
                if logs or not logs_only:
                    self._put(channel, queue, data)
        elif isinstance(frame, WorkerReply | WorkerProgress):
            entry = self._requests.get(frame.request_id)
            if entry is None:
                return  # its caller went away; the request was cancelled
            theirs, queue = entry
            queue.put_nowait(encode_frame(_renumbered(frame, theirs)))
            if isinstance(frame, WorkerReply) and frame.final:
                del self._requests[frame.request_id]
                queue.put_nowait(_END)

    def _put(self, channel: str, queue: asyncio.Queue[bytes], data: bytes) -> None:
        """Log records are sent from whatever thread logs; the queues live on the loop."""
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._put, channel, queue, data)
            return
        if queue.qsize() >= SUBSCRIBER_BACKLOG:
            # A gateway that died without its stream being closed (or one far behind):
            # its frames would pile up here for ever. Its stream ends.
            if self._subscribers.get(channel, (False, None))[1] is queue:
                del self._subscribers[channel]
                queue.put_nowait(_END)
            return
        queue.put_nowait(data)


def _renumbered(frame: WorkerReply | WorkerProgress, request_id: int) -> Any:
    if isinstance(frame, WorkerReply):
        return WorkerReply(request_id=request_id, message=frame.message, final=frame.final)
    return WorkerProgress(request_id=request_id)



def _resident_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)
