"""Helpers to run ``greenroom`` as a real subprocess in tests."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def greenroom_argv(*args: str) -> list[str]:
    """Run the CLI through the interpreter of the test run (the checkout's virtualenv)."""
    return [sys.executable, "-c", "from supervisor.cli import main; main()", *args]


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment without any GREENROOM_/OLLAMA_ setting of the developer's shell."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GREENROOM_", "OLLAMA_", "OPENAI_"))}
    env.update({
        "GREENROOM_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "TERM": "xterm",
        **extra,
    })
    return env


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
