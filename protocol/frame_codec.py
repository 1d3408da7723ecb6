"""Length-prefixed msgpack framing for the worker pipes, sans-I/O.

Wire format: a 4-byte big-endian unsigned length ``n``, then ``n`` bytes of msgpack encoding
one pipe frame (``ToWorker`` or ``FromWorker``). ``n`` is at most ``max_frame_bytes``
(16 MiB by default); a larger length means the stream is corrupt or the peer is broken.

``FrameDecoder`` does no I/O: the shell reads whatever bytes arrived, calls ``feed`` and
handles the frames it returns; at EOF it calls ``eof`` to learn whether a frame was cut.
The framing has no resynchronisation point, so after any error the decoder is poisoned and
the channel must be torn down (the supervisor restarts the worker).
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

import msgspec

from protocol.errors import ErrorCode, ProtocolError
from protocol.nesting import PIPE_MAX_NESTING_DEPTH, msgpack_may_nest_deeper, value_nesting_exceeds
from protocol.pipe import FromWorker, ToWorker

HEADER_BYTES: Final = 4
MAX_FRAME_BYTES: Final = 16 * 1024 * 1024
"""Default limit on one frame's msgpack body: 16 MiB."""

F = TypeVar("F")

_encoder: Final = msgspec.msgpack.Encoder()


def encode_frame(frame: ToWorker | FromWorker, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """Encode one pipe frame with its length prefix.

    Raises ``ProtocolError`` (``payload_too_large``) when the body exceeds
    ``max_frame_bytes``, or (``bad_frame``) when a free-form field holds a value msgpack
    cannot carry (an int beyond 64 bits, a non-JSON-like object).
    """
    try:
        body = _encoder.encode(frame)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        raise ProtocolError(
            ErrorCode.BAD_FRAME, f"Cannot encode {type(frame).__name__} frame: {exc}."
        ) from None
    size = len(body)
    if size > max_frame_bytes:
        raise ProtocolError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"{type(frame).__name__} frame is {size} bytes, over the {max_frame_bytes}-byte "
            "pipe limit.",
            details={"max_bytes": max_frame_bytes, "size": size},
        )
    # Concatenation measured faster than encode_into + header patching for typical frames.
    return size.to_bytes(HEADER_BYTES, "big") + body


class FrameDecoder(Generic[F]):
    """Turns a byte stream into pipe frames, whatever the chunking.

    Memory: buffers at most one partial frame (≤ ``max_frame_bytes`` + 4 bytes) plus the
    unprocessed tail of the last chunk fed.

    Errors are ``ProtocolError``: ``payload_too_large`` for a length prefix over the limit,
    ``bad_frame`` for a body that is not valid msgpack or not a valid frame, that nests
    deeper than ``PIPE_MAX_NESTING_DEPTH`` (``protocol.nesting``), or a stream cut mid-frame
    (reported by ``eof``). Frames decoded from a chunk before a bad frame are
    returned; the error is raised by the next ``feed`` or ``eof`` call and by every call after.
    """

    def __init__(
        self, decoder: msgspec.msgpack.Decoder[F], *, max_frame_bytes: int = MAX_FRAME_BYTES
    ) -> None:
        self._decoder = decoder
        self._max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._error: ProtocolError | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[F]:
        """Add received bytes; return every frame now complete, in stream order."""
        if self._error is not None:
            raise self._error
        if self._buffer:
            self._buffer += data
            frames, consumed = self._split(self._buffer)
            del self._buffer[:consumed]
        else:
            # Fast path (the common case on a pipe): nothing pending, so decode straight from
            # the caller's chunk and keep only an incomplete tail.
            frames, consumed = self._split(data)
            if consumed < len(data):
                self._buffer = bytearray(data[consumed:])
        if self._error is not None and not frames:
            raise self._error
        return frames

    def _split(self, chunk: bytes | bytearray | memoryview) -> tuple[list[F], int]:
        """Decode the whole frames at the start of ``chunk``; return them and the bytes used.

        Sets ``self._error`` (and stops) at the first bad frame.
        """
        frames: list[F] = []
        consumed = 0
        available = len(chunk)
        # The memoryview is released on exit, so a bytearray chunk can be resized afterwards.
        with memoryview(chunk) as view:
            while available - consumed >= HEADER_BYTES:
                size = int.from_bytes(view[consumed : consumed + HEADER_BYTES], "big")
                if size > self._max_frame_bytes:
                    self._error = ProtocolError(
                        ErrorCode.PAYLOAD_TOO_LARGE,
                        f"Pipe frame announces {size} bytes, over the {self._max_frame_bytes}"
                        "-byte limit; the stream is corrupt.",
                        details={"max_bytes": self._max_frame_bytes, "size": size},
                    )
                    break
                end = consumed + HEADER_BYTES + size
                if end > available:
                    break
                body = view[consumed + HEADER_BYTES : end]
                try:
                    if _nests_too_deeply(body):
                        self._error = ProtocolError(
                            ErrorCode.BAD_FRAME,
                            f"Pipe frame nests deeper than {PIPE_MAX_NESTING_DEPTH} levels.",
                            details={"max_depth": PIPE_MAX_NESTING_DEPTH},
                        )
                        break
                    frames.append(self._decoder.decode(body))
                except (msgspec.DecodeError, UnicodeError) as exc:
                    self._error = ProtocolError(
                        ErrorCode.BAD_FRAME, f"Undecodable pipe frame: {exc}."
                    )
                    break
                consumed = end
        return frames, consumed

    def eof(self) -> None:
        """The peer closed the stream: raise if a frame was cut short or an error is pending."""
        if self._error is not None:
            raise self._error
        if self._buffer:
            self._error = ProtocolError(
                ErrorCode.BAD_FRAME,
                f"Pipe closed in the middle of a frame ({len(self._buffer)} bytes pending).",
            )
            raise self._error


def _nests_too_deeply(body: memoryview) -> bool:
    """``PIPE_MAX_NESTING_DEPTH`` is checked before the typed decode: at once for a body with
    few possible container headers (nearly every frame), else on its generic decoding (which
    cannot recurse deeper than the body has container headers, and is walked iteratively).
    A depth that exhausts the interpreter's recursion limit counts as too deep too."""
    if not msgpack_may_nest_deeper(body):
        return False
    try:
        return value_nesting_exceeds(msgspec.msgpack.decode(body))
    except RecursionError:
        return True


def to_worker_decoder(*, max_frame_bytes: int = MAX_FRAME_BYTES) -> FrameDecoder[ToWorker]:
    """The decoder a worker runs on its inbound pipe."""
    decoder: msgspec.msgpack.Decoder[ToWorker] = msgspec.msgpack.Decoder(ToWorker)
    return FrameDecoder(decoder, max_frame_bytes=max_frame_bytes)


def from_worker_decoder(*, max_frame_bytes: int = MAX_FRAME_BYTES) -> FrameDecoder[FromWorker]:
    """The decoder the gateway/supervisor runs on a worker's outbound pipe."""
    decoder: msgspec.msgpack.Decoder[FromWorker] = msgspec.msgpack.Decoder(FromWorker)
    return FrameDecoder(decoder, max_frame_bytes=max_frame_bytes)
