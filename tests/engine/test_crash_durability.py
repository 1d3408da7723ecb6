"""A real worker-like process is SIGKILLed; what it acknowledged must survive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engine.characters import sensitive_character
from tests.engine.conftest import exported
from tests.support.paths import REPO_ROOT
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine

pytestmark = pytest.mark.process

NOW = 1_800_000_000.0
MESSAGES = [
    "Hello there!",
    "My dog is called Biscuit and he loves the beach.",
    "You are a stupid useless idiot and I hate you",
    "I really appreciate you, friend, thank you",
]


class Child:
    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.crash_child", str(data_dir), str(NOW)],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.read() == {"ready": True}

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "child exited early"
        result: dict[str, Any] = json.loads(line)
        return result

    def send(self, message: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(message + "\n")
        self.process.stdin.flush()

    def turn(self, message: str) -> dict[str, Any]:
        self.send(message)
        while "ack" not in (event := self.read()):
            pass
        return event

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        assert self.process.returncode == -signal.SIGKILL


def reopen(data_dir: Path) -> CharacterEngine:
    return CharacterEngine.open(sensitive_character(), data_dir=data_dir,
                                backend=ScriptedBackend(), clock=lambda: NOW)


def test_sigkill_between_turns_keeps_every_acknowledged_turn_and_the_vitals(
        tmp_path: Path) -> None:
    child = Child(tmp_path)
    acks = [child.turn(message) for message in MESSAGES]
    child.kill()

    engine = reopen(tmp_path)
    try:
        turns = exported(engine)["content"]["turns"]
        assert [t["id"] for t in turns] == [a["ack"] for a in acks]
        assert [t["user_message"] for t in turns] == MESSAGES
        assert exported(engine)["content"]["state"]["levels"] == acks[-1]["vitals"]
    finally:
        engine.close()


def test_sigkill_mid_turn_leaves_the_previous_state_intact(tmp_path: Path) -> None:
    child = Child(tmp_path)
    acks = [child.turn(message) for message in MESSAGES[:2]]
    child.send("Tell me a long story about lighthouses and the sea")
    assert "delta" in child.read()  # the reply is streaming, not yet acknowledged
    child.kill()

    engine = reopen(tmp_path)
    try:
        content = exported(engine)["content"]
        assert [t["id"] for t in content["turns"]] == [a["ack"] for a in acks]
        assert content["state"]["levels"] == acks[-1]["vitals"]
        assert content["state"]["turn_count"] == 2
    finally:
        engine.close()
