"""Reloading workers with real processes: character files validated before a worker goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.session import PingResponse
from tests.supervisor.helpers import pid_of, request

pytestmark = pytest.mark.process


def break_setpoint(path: Path) -> None:
    """An out-of-range ``baseline_setpoint`` (valid YAML, an invalid character)."""
    text = path.read_text()
    assert "baseline_setpoint: 0.7" in text
    path.write_text(text.replace("baseline_setpoint: 0.7", "baseline_setpoint: 7"))


async def test_an_invalid_character_file_leaves_its_running_worker_serving(
    start_pool, characters_dir: Path
) -> None:
    pool, listener = await start_pool()
    await pool.ensure("m-playful")
    pid = pid_of(pool, "m-playful")
    break_setpoint(characters_dir / "m-playful.yaml")
    outcome = await pool.reload(["m-playful"])
    (result,) = outcome.characters
    assert result.result == "invalid", result
    assert "baseline_setpoint" in (result.detail or "")
    assert pool.state("m-playful") == "ready" and pid_of(pool, "m-playful") == pid
    assert isinstance(await request(pool, listener, "m-playful", 1), PingResponse)
