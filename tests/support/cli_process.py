"""Running the ``greenroom`` CLI as a real subprocess, the way a user's shell would.

``greenroom_argv`` runs ``supervisor.cli:main`` with the interpreter of the test run (the
checkout's virtualenv), so no installed entry point is needed. ``clean_env`` drops every
``GREENROOM_``/``OLLAMA_``/``OPENAI_`` setting of the developer's shell, so a test sees the
defaults plus what it sets itself.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from runtime.settings import REPO_ROOT

CLI_TIMEOUT_S = 30.0
"""How long ``run_greenroom`` lets one command run before the test fails."""


def greenroom_argv(*args: str) -> list[str]:
    """``greenroom <args>`` as an argv list for ``subprocess``/``asyncio``/``pexpect``."""
    return [sys.executable, "-c", "from supervisor.cli import main; main()", *args]


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment without any GREENROOM_/OLLAMA_/OPENAI_ setting of the developer's
    shell, with ``data_dir`` as the data directory and a plain, colourless terminal."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GREENROOM_", "OLLAMA_", "OPENAI_"))}
    env.update({
        "GREENROOM_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO_ROOT),
        "NO_COLOR": "1",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "TERM": "xterm",
        **extra,
    })
    return env


async def run_greenroom(*args: str, data_dir: Path,
                        timeout_s: float = CLI_TIMEOUT_S) -> tuple[int, str]:
    """Run ``greenroom <args>`` to completion in ``clean_env(data_dir)``; returns the exit
    code and stdout and stderr interleaved as the user would see them."""
    process = await asyncio.create_subprocess_exec(
        *greenroom_argv(*args), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
        env=clean_env(data_dir), cwd=REPO_ROOT)
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, out.decode()
