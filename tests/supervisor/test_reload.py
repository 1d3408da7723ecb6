"""Reloading workers with real processes: only what changed is rolled, character files are
validated before a worker goes, sessions see ``reload`` states, debuggers keep their port."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.session import PingResponse
from supervisor.pool.api import CharacterNotFound, CharacterUnavailable
from supervisor.pool.supervised_worker import DebugConfig
from tests.supervisor.conftest import THREE
from tests.supervisor.helpers import pid_of, request
from tests.support.paths import BUNDLED_CHARACTERS

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


def edit_harmlessly(path: Path) -> None:
    """Change the file's content (a comment) without changing the character."""
    path.write_text(path.read_text() + "\n# edited while greenroom runs\n")


async def test_a_changed_character_file_reloads_only_that_character_with_reason_reload(
    start_pool, characters_dir: Path
) -> None:
    pool, listener = await start_pool()
    await pool.preload(THREE)
    pids = {cid: pid_of(pool, cid) for cid in THREE}
    seen = len(listener.states)
    edit_harmlessly(characters_dir / "zen-master.yaml")
    outcome = await pool.reload()
    results = {c.character_id: c.result for c in outcome.characters}
    assert results == {"f-serious": "up_to_date", "m-playful": "up_to_date",
                       "zen-master": "reloaded"}
    assert outcome.ok and not outcome.code_reloaded and outcome.code_generation == 1
    assert {cid: pid_of(pool, cid) for cid in THREE if cid != "zen-master"} == {
        cid: pids[cid] for cid in THREE if cid != "zen-master"}
    assert pid_of(pool, "zen-master") != pids["zen-master"]
    reported = [(state, snap.reason) for cid, state, snap in listener.states[seen:]
                if cid == "zen-master"]
    assert reported == [("restarting", "reload"), ("starting", "reload"), ("ready", "reload")]
    assert listener.states[-1][2].detail == "reloaded: code generation 1"
    assert isinstance(await request(pool, listener, "zen-master", 1), PingResponse)
    again = await pool.reload(["zen-master"])
    assert [c.result for c in again.characters] == ["up_to_date"]


async def test_a_changed_shared_lorebook_reloads_the_characters_that_name_it(
    start_pool, characters_dir: Path
) -> None:
    book = characters_dir / "lorebooks" / "river.yaml"
    book.parent.mkdir()
    book.write_text("entries:\n  - keys: [river]\n    content: The river runs east.\n")
    zen_master = characters_dir / "zen-master.yaml"
    zen_master.write_text(zen_master.read_text() + "\nlorebooks: [river]\n")
    pool, _listener = await start_pool()
    await pool.preload(THREE)
    pids = {cid: pid_of(pool, cid) for cid in THREE}
    book.write_text(book.read_text().replace("east", "west"))
    outcome = await pool.reload()
    assert {c.character_id: c.result for c in outcome.characters} == {
        "f-serious": "up_to_date", "m-playful": "up_to_date", "zen-master": "reloaded"}
    assert pid_of(pool, "zen-master") != pids["zen-master"]
    assert [c.result for c in (await pool.reload(["zen-master"])).characters] == ["up_to_date"]
    book.write_text("entries: [{keys: [river], probability: 400}]\n")  # out of range
    (broken,) = (await pool.reload(["zen-master"])).characters
    assert broken.result == "invalid" and "river" in (broken.detail or ""), broken
    assert pool.state("zen-master") == "ready"


async def test_reloading_an_unknown_character_is_refused_before_anything_is_done(
    start_pool
) -> None:
    pool, _listener = await start_pool()
    await pool.ensure("m-playful")
    edit_harmlessly(pool.settings.characters_dir / "m-playful.yaml")
    with pytest.raises(CharacterNotFound, match="no-such-one"):
        await pool.reload(["m-playful", "no-such-one"])
    assert pool.snapshots()[0].generation == 1


async def test_a_character_without_a_worker_is_not_started_by_a_reload(start_pool) -> None:
    pool, _listener = await start_pool()
    outcome = await pool.reload(["zen-master"])
    assert [c.result for c in outcome.characters] == ["not_running"]
    assert pool.state("zen-master") is None


async def test_a_reload_brings_a_quarantined_character_back_once_its_file_is_fixed(
    start_pool, characters_dir: Path
) -> None:
    broken = characters_dir / "lamplighter.yaml"
    broken.write_text("name: [unterminated\n")
    pool, listener = await start_pool(settings={"restart_max": 0})
    with pytest.raises(CharacterUnavailable, match="quarantined"):
        await pool.ensure("lamplighter")
    still_broken = await pool.reload(["lamplighter"])
    assert [c.result for c in still_broken.characters] == ["invalid"]
    assert pool.state("lamplighter") == "failed"
    broken.write_text((BUNDLED_CHARACTERS / "lamplighter.yaml").read_text())
    outcome = await pool.reload(["lamplighter"])
    assert [c.result for c in outcome.characters] == ["reloaded"]
    assert isinstance(await request(pool, listener, "lamplighter", 1), PingResponse)


@pytest.mark.slow
async def test_a_worker_started_with_debug_is_reloaded_with_its_debugger_on_the_same_port(
    start_pool, characters_dir: Path
) -> None:
    pytest.importorskip("debugpy")
    pool, _listener = await start_pool(debug={"m-playful": DebugConfig()})
    await pool.preload(["m-playful"])
    (before,) = pool.snapshots()
    assert before.state == "debugging" and before.debug_port
    edit_harmlessly(characters_dir / "m-playful.yaml")
    outcome = await pool.reload(["m-playful"])
    assert [c.result for c in outcome.characters] == ["reloaded"]
    (after,) = pool.snapshots()
    assert after.generation == 2 and after.pid != before.pid
    assert after.debug_port == before.debug_port


@pytest.mark.slow
async def test_a_debugger_started_on_a_running_worker_comes_back_on_the_same_port_after_reload(
    start_pool, characters_dir: Path
) -> None:
    pytest.importorskip("debugpy")
    pool, _listener = await start_pool()
    await pool.ensure("f-serious")
    port = await pool.start_debugger("f-serious", None, wait=False)
    edit_harmlessly(characters_dir / "f-serious.yaml")
    await pool.reload(["f-serious"])
    (after,) = pool.snapshots()
    assert after.generation == 2 and after.state == "debugging" and after.debug_port == port
