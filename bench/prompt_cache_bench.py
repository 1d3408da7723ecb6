"""Prompt cache: prompt tokens a real llama.cpp server re-reads per turn, old layout vs new.

    python -m bench.prompt_cache_bench --url http://127.0.0.1:8000/v1 --server-log server.log

The server must be llama-cpp-python's (``python -m llama_cpp.server --verbose true``, its
standard error going to ``--server-log``): for every request it logs the prompt tokens it
found in its cache (``Llama.generate: N prefix-match hit, remaining M prompt tokens to
eval``, absent when it found none) and the tokens it evaluated (``prompt eval time = … /
M tokens``); M is the figure measured here, N + M the prompt's length.
``GREENROOM_BENCH_LLAMA_URL`` and ``GREENROOM_BENCH_LLAMA_LOG`` stand in for the flags
(``python -m bench prompt_cache``); without a reachable server the benchmark says so and
skips.

The same conversation (``MESSAGES``, one user, a bundled character) runs twice through an
in-process ``CharacterEngine`` with the real ``OpenAIBackend``, greedy sampling and short
replies: once with the prompt builder as it was before the stable-first layout (read from
git at ``OLD_LAYOUT_COMMIT``, so the old layout lives only in history) and once with the
current one. Each run starts with a request that empties the server's cache of the other
run. Goal: from the second turn on, a turn re-reads only the new exchange (the previous
message and reply) and the final user message with its turn note, plus the chat template's
few tokens around them (``TEMPLATE_SLACK``); the old layout re-read the whole history.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import httpx

from bench.report import machine_line
from schemas.loader import load_character
from tests.support.paths import BUNDLED_CHARACTERS, REPO_ROOT
from worker.backends.base import (
    ChatMessage,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    TextDelta,
)
from worker.backends.openai import OpenAIBackend
from worker.engine import turn_prepare
from worker.engine.character_engine import CharacterEngine
from worker.engine.prompt import BuiltPrompt, PromptInput, estimate_tokens

#: The last commit whose prompt builder put mood, vitals, relationship and memories into
#: the system message.
OLD_LAYOUT_COMMIT = "5b10112d89188eb269fca9539cd42d63ab714979"
URL_VARIABLE = "GREENROOM_BENCH_LLAMA_URL"
LOG_VARIABLE = "GREENROOM_BENCH_LLAMA_LOG"
CHARACTER = "ada-lovelace"
USER = "sam"
MESSAGES = (
    "Hello! I'm Sam, I build looms for a living.",
    "What are you working on today?",
    "My sister Jo thinks your engine is a toy. Is she wrong?",
    "That's harsh. You can be really arrogant, you know.",
    "Sorry, I didn't mean it. Can you explain the engine simply?",
    "Ha! So it's a loom that weaves numbers?",
    "Do you remember what I build?",
    "Thank you, Ada. Same time tomorrow?",
)
MAX_TOKENS = 40
#: Chat-template tokens allowed around the three messages a turn re-reads (role headers and
#: end-of-turn markers: ChatML spends 5 per message).
TEMPLATE_SLACK = 24
LOG_WAIT_S = 10.0
_PREFIX_HIT = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens")
_PROMPT_EVAL = re.compile(r"prompt eval time\s*=\s*([\d.]+) ms /\s*(\d+) tokens")


@dataclass(frozen=True, slots=True)
class TurnFigures:
    prompt_tokens: int
    reread: int
    reread_s: float  # the server's time to evaluate them
    new_text: int  # tokens of the previous message + reply + the final user message


class ServerLog:
    """The server's log, read from where the last request's lines ended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = path.stat().st_size

    async def next_request(self) -> tuple[int, int, float]:
        """(prompt tokens found in the cache, prompt tokens evaluated, seconds spent on
        them) of the request whose timings the server has just logged, waiting for them."""
        deadline = time.monotonic() + LOG_WAIT_S
        while True:
            with self.path.open("rb") as log:
                log.seek(self._offset)
                text = log.read().decode("utf-8", "replace")
            evaluated = _PROMPT_EVAL.search(text)
            if evaluated is not None:
                self._offset += len(text[:evaluated.end()].encode("utf-8", "replace"))
                hit = _PREFIX_HIT.search(text, 0, evaluated.start())
                return (int(hit.group(1)) if hit else 0, int(evaluated.group(2)),
                        float(evaluated.group(1)) / 1000.0)
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the server logged no 'prompt eval time' line in {self.path} within "
                    f"{LOG_WAIT_S:.0f} s of a reply; start it with --verbose true and its "
                    "standard error going to that file")
            await asyncio.sleep(0.05)


class RecordingBackend:
    """The real OpenAI backend, keeping each request's messages."""

    name = "openai"

    def __init__(self, inner: OpenAIBackend) -> None:
        self.inner = inner
        self.prompts: list[list[ChatMessage]] = []

    async def check(self) -> None:
        await self.inner.check()

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        self.prompts.append(list(request.messages))
        async for event in self.inner.generate(request):
            yield event

    async def aclose(self) -> None:
        await self.inner.aclose()


def old_build_prompt() -> Callable[[PromptInput], BuiltPrompt]:
    """``build_prompt`` as it was at ``OLD_LAYOUT_COMMIT``, loaded from git (its messages,
    with none of the fitting facts the current builder reports)."""
    source = subprocess.run(
        ["git", "show", f"{OLD_LAYOUT_COMMIT}:worker/engine/prompt.py"], cwd=REPO_ROOT,
        capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory(prefix="greenroom-old-prompt-") as tmp:
        path = Path(tmp) / "old_prompt.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("bench_old_prompt", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    old_input = module.PromptInput

    def build(inp: PromptInput) -> BuiltPrompt:
        fields = {name: getattr(inp, name) for name in old_input.__dataclass_fields__}
        fields["history"] = [(e.user_message, e.reply) for e in inp.history]  # its format
        messages: list[ChatMessage] = module.build_prompt(old_input(**fields))
        raw = sum(estimate_tokens(m.content) for m in messages)
        return BuiltPrompt(messages=messages, sections=(), estimated_tokens=raw,
                           raw_tokens=raw, budget_tokens=inp.token_budget,
                           history_kept=(len(messages) - 2) // 2,
                           history_available=len(inp.history))

    return build


@contextmanager
def layout(name: str) -> Iterator[None]:
    if name == "new":
        yield
        return
    with mock.patch.object(turn_prepare, "build_prompt", old_build_prompt()):
        yield


async def _count_tokens(client: httpx.AsyncClient, text: str) -> int:
    response = await client.post("/extras/tokenize/count", json={"input": text})
    response.raise_for_status()
    return int(response.json()["count"])


async def _empty_cache(client: httpx.AsyncClient, log: ServerLog) -> None:
    """One unrelated request, so the next prompt finds nothing of the previous run."""
    response = await client.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 1})
    response.raise_for_status()
    await log.next_request()


async def run_layout(name: str, url: str, log: ServerLog, client: httpx.AsyncClient,
                     max_tokens: int) -> tuple[list[TurnFigures], bool]:
    """The conversation in one layout: figures per turn, and whether every turn's messages
    before its last were the previous turn's plus one exchange (system message included)."""
    character = load_character(CHARACTER, BUNDLED_CHARACTERS).character
    backend = RecordingBackend(OpenAIBackend(url, GenerationOptions(
        model="local", temperature=0.0, max_tokens=max_tokens)))
    figures: list[TurnFigures] = []
    await _empty_cache(client, log)
    with tempfile.TemporaryDirectory(prefix="greenroom-bench-") as tmp, layout(name):
        engine = CharacterEngine.open(character, data_dir=Path(tmp), backend=backend)
        try:
            for index, message in enumerate(MESSAGES):
                async for _ in engine.chat(message, user=USER):
                    pass
                cached, reread, seconds = await log.next_request()
                prompt = backend.prompts[-1]
                fresh = prompt[-3:] if index else prompt
                new_text = sum([await _count_tokens(client, m.content) for m in fresh])
                figures.append(TurnFigures(cached + reread, reread, seconds, new_text))
        finally:
            engine.close()
            await backend.aclose()
    prompts = backend.prompts
    extends = all(after[:len(before) - 1] == before[:-1]
                  for before, after in itertools.pairwise(prompts))
    return figures, extends


def _table(old: Sequence[TurnFigures], new: Sequence[TurnFigures]) -> str:
    lines = ["| turn | prompt tokens (old) | re-read (old) | prompt tokens (new) | re-read (new)"
             " | new exchange + note (new) | goal met |", "|" + "---|" * 7]
    for turn, (o, n) in enumerate(zip(old, new, strict=True), start=1):
        met = "—" if turn == 1 else ("yes" if n.reread <= n.new_text + TEMPLATE_SLACK else "NO")
        lines.append(f"| {turn} | {o.prompt_tokens} | {o.reread} | {n.prompt_tokens} | "
                     f"{n.reread} | {n.new_text} | {met} |")
    later_old = sum(o.reread for o in old[1:])
    later_new = sum(n.reread for n in new[1:])
    lines.append(f"| 2–{len(old)} | | {later_old} | | {later_new} | | "
                 f"{later_new / later_old:.2f}× |")
    lines.append(f"\nprompt evaluation, turns 2–{len(old)}: old "
                 f"{sum(o.reread_s for o in old[1:]):.1f} s, new "
                 f"{sum(n.reread_s for n in new[1:]):.1f} s")
    return "\n".join(lines)


async def measure(url: str, log_path: Path, max_tokens: int) -> str:
    base = url.rstrip("/").removesuffix("/v1")
    async with httpx.AsyncClient(base_url=base, timeout=120.0) as client:
        log = ServerLog(log_path)
        old, old_extends = await run_layout("old", f"{base}/v1", log, client, max_tokens)
        new, new_extends = await run_layout("new", f"{base}/v1", log, client, max_tokens)
    return (
        "### Prompt cache: prompt tokens re-read per turn, old layout vs stable-first\n\n"
        f"{machine_line()}; llama-cpp-python server at {base}; `{CHARACTER}`, "
        f"{len(MESSAGES)} turns, replies ≤ {max_tokens} tokens, greedy\n\n"
        + _table(old, new)
        + "\n\ngoal: from turn 2 a turn re-reads at most the new exchange and the final message"
        f" with its note (+{TEMPLATE_SLACK} template tokens)\n"
        f"messages before the new one extend the previous turn's: old {old_extends}, "
        f"new {new_extends}\n"
    )


async def _reachable(url: str) -> str | None:
    """None when a server answers ``GET {url}/models``, else why not."""
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(f"{url.rstrip('/')}/models")
    except httpx.HTTPError as error:
        return f"no server answers at {url} ({type(error).__name__}: {error})"
    if response.status_code != 200:
        return f"{url}/models answered HTTP {response.status_code}"
    return None


def _skip(reason: str) -> str:
    return (
        "### Prompt cache: prompt tokens re-read per turn, old layout vs stable-first\n\n"
        f"skipped: {reason}. Start `python -m llama_cpp.server --model <gguf> --n_ctx 4096 "
        "--verbose true 2> server.log` and set "
        f"{URL_VARIABLE}=http://127.0.0.1:8000/v1 and {LOG_VARIABLE}=server.log "
        "(or pass --url and --server-log).\n"
    )


async def run(url: str | None = None, server_log: Path | None = None,
              max_tokens: int = MAX_TOKENS) -> str:
    url = url or os.environ.get(URL_VARIABLE)
    log_name = server_log or os.environ.get(LOG_VARIABLE)
    if not url:
        return _skip(f"no llama.cpp server named ({URL_VARIABLE} is not set)")
    unreachable = await _reachable(url)
    if unreachable is not None:
        return _skip(unreachable)
    if not log_name or not await asyncio.to_thread(Path(log_name).is_file):
        return _skip(f"the server's log ({LOG_VARIABLE}) is not a file: {log_name!r}")
    return await measure(url, Path(log_name), max_tokens)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help=f"the server's API root (default ${URL_VARIABLE})")
    parser.add_argument("--server-log", type=Path,
                        help=f"the server's --verbose log file (default ${LOG_VARIABLE})")
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS,
                        help=f"reply length limit (default {MAX_TOKENS})")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.url, args.server_log, args.max_tokens)))


if __name__ == "__main__":
    main()
