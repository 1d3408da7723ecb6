"""Loading the ``greenroom`` command, a remote chat or the client library loads no engine.

Each case runs in a fresh interpreter (an import already done by another test would hide
one) and reports which modules it loaded. ``worker.spec`` is allowed: it is the worker's one
module without engine code, the supervisor's way to describe a worker to start.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.process

ALLOWED_WORKER_MODULES = frozenset({"worker", "worker.spec"})
ENGINE_LIBRARIES = ("numpy", "vaderSentiment")

PROBE = """
import json, sys
{imports}
print(json.dumps(sorted(sys.modules)))
"""

EVERY_COMMAND = """
import click
from supervisor.cli import COMMANDS, main
for name in COMMANDS:
    main.get_command(click.Context(main), name)
"""


def modules_loaded_by(imports: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(imports=imports)],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
                            check=True)
    return set(json.loads(result.stdout))


def engine_modules(loaded: set[str]) -> list[str]:
    return sorted(name for name in loaded
                  if (name.split(".")[0] == "worker" and name not in ALLOWED_WORKER_MODULES)
                  or name.split(".")[0] in ENGINE_LIBRARIES)


def test_loading_every_greenroom_command_loads_no_engine() -> None:
    assert engine_modules(modules_loaded_by(EVERY_COMMAND)) == []


def test_the_chat_command_and_the_remote_client_load_no_engine() -> None:
    loaded = modules_loaded_by("import client.chat_cli, client.remote")
    assert engine_modules(loaded) == []
    assert "client.local" not in loaded


def test_local_mode_is_what_loads_the_engine() -> None:
    loaded = modules_loaded_by("import client.local")
    assert "worker.service" in loaded and "numpy" in loaded
