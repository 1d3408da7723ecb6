"""Two characters' note-taking and replies on one model server, through real worker processes.

    python -m bench.shared_server_bench [--rounds 10]

One ``greenroom serve --engine openai`` with ``m-playful`` and ``f-serious`` and model memory
on, against one fake OpenAI server that records every chat request's span
(``ChatSpan``). Two scenarios, ``--rounds`` times each:

* **notes while a reply streams** (a server with parallel slots): f-serious's reply is held
  mid-stream; m-playful chats, and its notes want the server. Counted: notes requests that
  arrived while a reply streamed (``overlapping``); and how long after the held reply
  ended the notes started (the delay the guard adds to background work).
* **a reply during notes** (an interrupting server, llama-cpp-python's default): m-playful's
  notes are held mid-stream; f-serious chats. Counted: replies the server cut short, and how
  long the reply waited for the notes' hand-over (``reply_waited_for_background``).

Run from a checkout of an older commit (with this file and ``tests/backends/fake_llm_servers.py``
copied in) it measures the code before the guard: its notes never log a wait, so a round
ends when the notes request reaches the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from tests.backends.fake_llm_servers import (
    NOTES_MARKER,
    FakeOpenAIServer,
    StreamScript,
    overlapping,
)
from tests.support.json_peer import attach, open_peer
from tests.support.running_server import Record, RunningServer, ServerConfig, running_server

PLAYFUL, SERIOUS = "m-playful", "f-serious"
FACT = json.dumps({"fact": "The user's sister Ophelia lives in Lisbon."})
WAIT_S = 30.0


def _env(llm: FakeOpenAIServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": llm.base_url, "OPENAI_MODEL": "local-model",
            "GREENROOM_MODEL_MEMORY": "on", "GREENROOM_MODEL_MEMORY_REFLECT_EVERY": "0"}


async def _outcome(server: RunningServer, character: str, start: int) -> Record:
    return await server.wait_for_record(
        lambda r: r.get("character") == character and r.get("event") in (
            "model_memories_written", "model_memories_dropped", "memory_extraction_failed"),
        timeout_s=WAIT_S, start=start)


async def notes_while_a_reply_streams(rounds: int) -> tuple[int, list[float]]:
    """(notes requests that overlapped a reply, ms from the reply's end to the notes)."""
    delays: list[float] = []
    async with FakeOpenAIServer(models=["local-model"], interrupt_requests=False,
                                script=StreamScript(tokens=("Lovely", "!"))) as llm:
        with tempfile.TemporaryDirectory() as data:
            config = ServerConfig(Path(data), characters=[PLAYFUL, SERIOUS], engine="openai",
                                  env=_env(llm))
            async with running_server(config) as server, open_peer(server.url) as serious, \
                    open_peer(server.url) as playful:
                await attach(serious, SERIOUS)
                await attach(playful, PLAYFUL)
                for n in range(rounds):
                    llm.queue_script(StreamScript(tokens=("A", " story", "."), hold_after=1),
                                     for_text=f"story {n}")
                    llm.queue_script(StreamScript(tokens=(FACT,)), for_text=NOTES_MARKER)
                    story = await serious.send_frame("chat_request",
                                                     user_message=f"Tell me story {n}.")
                    await llm.holding.wait()
                    mark, spans = len(server.records), len(llm.spans)
                    await playful.request("chat_request", user_message=f"My sister is {n}.")
                    await _notes_want_the_server(server, llm, mark, spans)
                    llm.release()
                    await story.final
                    await _outcome(server, PLAYFUL, mark)
                    await _outcome(server, SERIOUS, mark)
                    held = llm.spans[spans - 1]
                    notes = next(s for s in llm.spans[spans:] if s.label == "notes")
                    assert held.ended is not None
                    delays.append((notes.began - held.ended) * 1000)
        return len(overlapping(llm.spans)), delays


async def _notes_want_the_server(server: RunningServer, llm: FakeOpenAIServer, mark: int,
                                 spans: int) -> None:
    """Until m-playful's notes reached the server or logged that they wait for it."""
    arrived = asyncio.ensure_future(llm.wait_for_span("notes", after=spans))
    waiting = asyncio.ensure_future(server.wait_for_record(
        lambda r: r.get("character") == PLAYFUL
        and r.get("event") == "background_request_waiting", timeout_s=WAIT_S, start=mark))
    done, pending = await asyncio.wait({arrived, waiting}, timeout=WAIT_S,
                                       return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if not done:
        raise TimeoutError("m-playful's notes neither reached the server nor waited")


async def a_reply_during_notes(rounds: int) -> tuple[int, list[float]]:
    """(replies cut short, ms each reply waited for the notes' hand-over)."""
    async with FakeOpenAIServer(models=["local-model"], interrupt_requests=True,
                                script=StreamScript(tokens=("Lovely", "!"))) as llm:
        with tempfile.TemporaryDirectory() as data:
            config = ServerConfig(Path(data), characters=[PLAYFUL, SERIOUS], engine="openai",
                                  env=_env(llm))
            async with running_server(config) as server, open_peer(server.url) as serious, \
                    open_peer(server.url) as playful:
                await attach(serious, SERIOUS)
                await attach(playful, PLAYFUL)
                for n in range(rounds):
                    llm.queue_script(StreamScript(tokens=(FACT[:20], FACT[20:]), hold_after=1),
                                     for_text=NOTES_MARKER)
                    mark = len(server.records)
                    await playful.request("chat_request", user_message=f"My sister is {n}.")
                    await llm.holding.wait()
                    await serious.request("chat_request", user_message=f"Good evening {n}.")
                    await _outcome(server, PLAYFUL, mark)
                    await _outcome(server, SERIOUS, mark)
                waits = [float(r["waited_ms"]) for r in server.records
                         if r.get("event") == "reply_waited_for_background"]
        cut = sum(1 for s in llm.spans if s.label == "reply" and s.interrupted)
        return cut, waits


def _ms(values: list[float]) -> str:
    if not values:
        return "—"
    return (f"p50 {statistics.median(values):.0f} ms, max {max(values):.0f} ms"
            f" (n={len(values)})")


async def main(rounds: int) -> None:
    overlaps, delays = await notes_while_a_reply_streams(rounds)
    cut, waits = await a_reply_during_notes(rounds)
    print(f"| scenario ({rounds} rounds) | count | time |")
    print("|---|---|---|")
    print(f"| notes that arrived while another character's reply streamed | {overlaps} |"
          f" notes started after the reply ended: {_ms(delays)} |")
    print(f"| replies cut short by notes | {cut} | reply's wait for the hand-over:"
          f" {_ms(waits)} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    asyncio.run(main(parser.parse_args().rounds))
