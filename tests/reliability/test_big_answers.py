"""Answers that outgrow a frame: a long-lived character is exported whole (streamed), list
answers come in pages, and an answer that cannot be sent is answered with an error at once.

Real ``greenroom serve`` processes, real SQLite; the long histories are built through the
store's own API (``tests.support.long_history``) rather than by chatting 20,000 times.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from client.local import LocalCharacter
from client.remote import CharacterClient
from runtime.settings import load_settings
from schemas.loader import load_character
from tests.engine.conftest import exported
from tests.support.cli_process import clean_env, greenroom_argv
from tests.support.json_peer import attach, open_peer
from tests.support.long_history import build_long_history
from tests.support.paths import BUNDLED_CHARACTERS, REPO_ROOT
from tests.support.running_server import Launch
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine
from worker.engine.database import connect, database_path

pytestmark = [pytest.mark.process, pytest.mark.slow]

CHARACTER = "m-playful"
TURNS = 20_000
SNAPSHOTS = 10_000
SLOW_REQUEST_TIMEOUT = {"GREENROOM_REQUEST_TIMEOUT": "300"}
"""So a reply lost on the way would show as the test's own timeout, never as an answer."""


@pytest.fixture(scope="module")
def long_history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("long-history")
    asyncio.run(build_long_history(data_dir, CHARACTER, turns=TURNS))
    return data_dir


@pytest.fixture
def data_dir(long_history_dir: Path, tmp_path: Path) -> Path:
    """A copy of the 20,000-turn character's data directory, this test's own."""
    copy = tmp_path / "data"
    shutil.copytree(long_history_dir, copy)
    return copy


def _document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _check_imports_back(document: dict[str, Any], data_dir: Path) -> None:
    """Import ``document`` into ``data_dir`` and check the character there is the same."""
    CharacterEngine.import_document(document, data_dir=data_dir)
    character = load_character(CHARACTER, BUNDLED_CHARACTERS).character
    engine = CharacterEngine.open(character, data_dir=data_dir, backend=ScriptedBackend())
    try:
        assert engine.character_info()["turn_count"] == TURNS
        assert exported(engine)["content"] == document["content"]
    finally:
        engine.close()


async def _chat_cli(*args: str, stdin: str, data_dir: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *greenroom_argv("chat", "--no-vitals", *args), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=clean_env(data_dir), cwd=REPO_ROOT)
    try:
        async with asyncio.timeout(120):
            out, _ = await process.communicate(stdin.encode())
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, out.decode()


async def test_a_20000_turn_character_exports_streamed_complete_and_imports_back(
    launch: Launch, data_dir: Path, tmp_path: Path
) -> None:
    # A send queue smaller than the export's ~500 chunks: only the credit pacing keeps a
    # fast worker from overflowing it (which would close the connection with 1008).
    server = await launch([CHARACTER], data_dir=data_dir,
                          env={**SLOW_REQUEST_TIMEOUT, "GREENROOM_SESSION_SEND_QUEUE": "16"})
    target = tmp_path / "export.json"
    async with await CharacterClient.connect(server.url, character_id=CHARACTER) as client:
        with target.open("w", encoding="utf-8") as out:
            async for piece in client.export_text():
                out.write(piece)
        # The character serves as before afterwards.
        assert (await client.status()).summary["turn_count"] == TURNS
    document = _document(target)
    assert len(document["content"]["turns"]) == TURNS
    assert document["content"]["state"]["turn_count"] == TURNS
    assert [t["turn_index"] for t in document["content"]["turns"]] == list(range(1, TURNS + 1))
    _check_imports_back(document, tmp_path / "imported")


async def test_the_chat_export_command_writes_the_same_file_remote_and_local(
    launch: Launch, data_dir: Path, tmp_path: Path
) -> None:
    local_dir = tmp_path / "local-data"
    shutil.copytree(data_dir, local_dir)
    server = await launch([CHARACTER], data_dir=data_dir, env=SLOW_REQUEST_TIMEOUT)
    remote_file, local_file = tmp_path / "remote.json", tmp_path / "local.json"
    status, output = await _chat_cli("--server-url", server.url, "-c", CHARACTER,
                                     stdin=f"/export {remote_file}\n/quit\n",
                                     data_dir=tmp_path / "chat-remote")
    assert status == 0 and f"exported to {remote_file}" in output, output
    status, output = await _chat_cli("--local", "-c", CHARACTER,
                                     stdin=f"/export {local_file}\n/quit\n", data_dir=local_dir)
    assert status == 0 and f"exported to {local_file}" in output, output

    remote, local = _document(remote_file), _document(local_file)
    assert len(remote["content"]["turns"]) == TURNS
    assert remote.pop("exported_at") and local.pop("exported_at")
    assert remote == local
    assert not await asyncio.to_thread(lambda: list(tmp_path.glob("*.partial")))


async def test_a_whole_export_too_large_for_a_frame_answers_answer_too_large_at_once(
    launch: Launch, data_dir: Path
) -> None:
    server = await launch([CHARACTER], data_dir=data_dir, env=SLOW_REQUEST_TIMEOUT)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        answer = await peer.request("export_request", timeout_s=120)
        assert answer["message_type"] == "error_response", answer
        assert answer["error_code"] == "answer_too_large"
        assert "stream" in answer["error"] and answer["details"]["max_bytes"] == 16 * 1024 * 1024
        # The worker is fine and answers the next request.
        status = await peer.request("status_request", timeout_s=60)
        assert status["character_summary"]["turn_count"] == TURNS
    assert not [line for line in server.lines if "never retrieved" in line]


async def test_the_status_history_of_a_20000_turn_character_comes_in_pages(
    launch: Launch, data_dir: Path
) -> None:
    server = await launch([CHARACTER], data_dir=data_dir)
    async with open_peer(server.url) as peer:  # websockets' default 1 MiB frame limit
        await attach(peer, CHARACTER)
        newest = await peer.request("status_request", include_history=True, timeout_s=60)
        assert [t["turn_index"] for t in newest["conversation_history"]] == list(
            range(TURNS - 999, TURNS + 1))
        assert (newest["history_total"], newest["history_offset"],
                newest["history_next_offset"]) == (TURNS, TURNS - 1000, None)

        first = await peer.request("status_request", include_history=True, history_offset=0,
                                   history_limit=300, timeout_s=60)
        assert [t["turn_index"] for t in first["conversation_history"]] == list(range(1, 301))
        assert first["history_next_offset"] == 300

        refused = await peer.request("status_request", include_history=True,
                                     history_limit=5000)
        assert refused["error_code"] == "bad_request"


async def test_10000_snapshots_are_listed_page_by_page(launch: Launch, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await build_long_history(data_dir, CHARACTER, turns=1, snapshots=SNAPSHOTS)
    server = await launch([CHARACTER], data_dir=data_dir)
    names = [f"snap-{number:05d}" for number in range(SNAPSHOTS)]
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        page = await peer.request("snapshots_request", timeout_s=60)
        assert [s["filename"] for s in page["snapshots"]] == names[:1000]
        assert (page["total"], page["next_offset"]) == (SNAPSHOTS, 1000)
        last = await peer.request("snapshots_request", offset=9_900, limit=500, timeout_s=60)
        assert [s["filename"] for s in last["snapshots"]] == names[9_900:]
        assert last["next_offset"] is None
        assert last["snapshots"][0]["turn_count"] == 1
    async with await CharacterClient.connect(server.url, character_id=CHARACTER) as client:
        assert [s["filename"] for s in await client.snapshots()] == names


async def test_an_answer_that_cannot_be_encoded_answers_internal_at_once(
    launch: Launch, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    await build_long_history(data_dir, CHARACTER, turns=1)
    # A stored number no msgpack frame can carry (beyond 64 bits), read back into an answer:
    # SQLite keeps it as a REAL, which the history reads back as the integer it is.
    conn = connect(database_path(data_dir, CHARACTER))
    try:
        with conn:
            conn.execute("UPDATE turns SET turn_index = ?", (float(2**70),))
    finally:
        conn.close()
    server = await launch([CHARACTER], data_dir=data_dir, env=SLOW_REQUEST_TIMEOUT)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        answer = await peer.request("status_request", include_history=True, timeout_s=60)
        assert answer["message_type"] == "error_response", answer
        assert answer["error_code"] == "internal"
        assert "status_response" in answer["error"] and CHARACTER in answer["error"]
        assert (await peer.request("ping_request"))["success"] is True
        assert (await peer.request("status_request"))["success"] is True
    assert not [line for line in server.lines if "never retrieved" in line]


LOCAL_EXPORT_TURNS = 2_500
"""About 4 MB of export: some sixty of the worker's ``EXPORT_CHUNK_CHARS`` chunks."""


async def test_a_local_character_streams_its_export_in_bounded_chunks(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await build_long_history(data_dir, CHARACTER, turns=LOCAL_EXPORT_TURNS, snapshots=3)
    character = LocalCharacter(load_settings({"data_dir": data_dir}, environ={}))
    try:
        await character.attach(CHARACTER)
        pieces = [piece async for piece in character.export_text()]
    finally:
        await character.close()
    text = "".join(pieces)
    assert len(pieces) > 50 and max(map(len, pieces)) < len(text) / 10
    document = json.loads(text)
    assert len(document["content"]["turns"]) == LOCAL_EXPORT_TURNS
    assert [s["name"] for s in document["snapshots"]] == ["snap-00000", "snap-00001",
                                                          "snap-00002"]
    assert document["snapshots"][0]["content"]["state"]["turn_count"] == 1
