"""``LlamaServer``: a real llama-cpp-python server process for the real-model tier.

It runs ``launch_llama_server.py`` with the tier's interpreter (see ``conftest.py``) on
127.0.0.1 and a port chosen free beforehand (kept across ``restart``, so greenroom's
``OPENAI_BASE_URL`` stays right). Readiness is event-driven: uvicorn's ``Uvicorn running on``
line comes after the model has loaded. Every output line is kept in ``lines`` so a test can
wait for what the server says (``Disconnected from client`` after a stream was closed,
``Requested tokens … exceed context window``) and a failure can show the server's log.

The process is driven from synchronous fixtures (session scope, any event loop); the
``async`` waits run the blocking wait in a thread so the test's event loop keeps running.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import closed_port

LAUNCHER = Path(__file__).with_name("launch_llama_server.py")
MODEL_NAME = "smollm2-135m"
"""The model name greenroom sends (llama-cpp-python serves its one model under any name)."""
READY_TIMEOUT_S = 120.0
"""Loading the 135M model takes a few seconds; the bound covers a machine busy with builds."""
STOP_TIMEOUT_S = 10.0
DISCONNECTED = "Disconnected from client"
"""What llama-cpp-python's server prints when a stream's event publisher was cancelled: the
client closed the connection (or, with ``interrupt_requests``, another request came)."""
_ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>/\S*) HTTP/[\d.]+" \d{3}')


def request_line(line: str) -> str | None:
    """``"POST /v1/chat/completions"`` for uvicorn's access-log line of a request (written
    when the response starts), ``None`` for any other line."""
    match = _ACCESS_LINE.search(line)
    return None if match is None else f"{match['method']} {match['path']}"


class LlamaServerFailed(Exception):
    """The server exited, or did not say what was awaited; carries its last output."""


@dataclass(frozen=True, slots=True)
class LlamaServerConfig:
    """How to start one server. ``python`` is the tier's interpreter."""

    python: Path
    name: str
    n_ctx: int = 2048
    embedding: bool = False
    pooling: str | None = None
    extra_args: Sequence[str] = field(default_factory=tuple)

    def argv(self, port: int) -> list[str]:
        args = [str(self.python), str(LAUNCHER), "--host", "127.0.0.1", "--port", str(port),
                "--n_ctx", str(self.n_ctx), "--embedding", str(self.embedding).lower()]
        if self.pooling is not None:
            args += ["--pooling", self.pooling]
        return [*args, *self.extra_args]


class LlamaServer:
    """One server process; ``start`` it, ``stop`` it (also ``restart``, ``suspend``)."""

    def __init__(self, config: LlamaServerConfig, port: int | None = None) -> None:
        self.config = config
        self.port = closed_port() if port is None else port
        self.lines: list[str] = []
        self.load_times_s: list[float] = []
        """Seconds from each start to ready (the model load dominates)."""
        self._changed = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._output_open = False

    @property
    def base_url(self) -> str:
        """The OpenAI API root, as ``OPENAI_BASE_URL`` wants it (with ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"llama server {self.config.name} is not running")
        return self._process.pid

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the process and wait until it serves; ``LlamaServerFailed`` otherwise."""
        if self.running():
            raise RuntimeError(f"llama server {self.config.name} is already running")
        started_at = time.perf_counter()
        first_line = len(self.lines)
        self._output_open = True
        self._process = subprocess.Popen(
            self.config.argv(self.port), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True)
        self._reader = threading.Thread(target=self._pump, args=(self._process,), daemon=True,
                                        name=f"llama-{self.config.name}-output")
        self._reader.start()
        try:
            self.wait_for_line(lambda line: "Uvicorn running on" in line, READY_TIMEOUT_S,
                               start=first_line)
        except LlamaServerFailed:
            self.stop()
            raise
        self.load_times_s.append(time.perf_counter() - started_at)

    def stop(self) -> int | None:
        """SIGTERM (after a SIGCONT, in case it is suspended), then SIGKILL after
        ``STOP_TIMEOUT_S``; returns the exit code (None if it was not running)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(5.0)
        self._process = None
        return process.returncode

    def restart(self) -> None:
        self.stop()
        self.start()

    def suspend(self) -> None:
        """SIGSTOP: the server keeps its connections but sends nothing (true silence)."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    # -- output ------------------------------------------------------------------------

    def _pump(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        process.wait()
        with self._changed:
            self._output_open = False
            self._changed.notify_all()

    def wait_for_line(self, predicate: Callable[[str], bool], timeout_s: float, *,
                      start: int = 0) -> str:
        """The first output line from index ``start`` matching ``predicate``."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    if predicate(line):
                        return line
                if not self._output_open:
                    raise LlamaServerFailed(self._failure("exited"))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LlamaServerFailed(self._failure(f"nothing matched in {timeout_s} s"))
                self._changed.wait(remaining)

    async def wait_for_line_async(self, predicate: Callable[[str], bool], timeout_s: float,
                                  *, start: int = 0) -> str:
        return await asyncio.to_thread(self.wait_for_line, predicate, timeout_s, start=start)

    def output_tail(self, count: int = 40) -> str:
        return "\n".join(self.lines[-count:])

    def _failure(self, what: str) -> str:
        code = None if self._process is None else self._process.poll()
        return (f"llama server {self.config.name} (port {self.port}, exit {code}): {what}; "
                f"command: {' '.join(self.config.argv(self.port))}; last output:\n"
                f"{self.output_tail()}")
