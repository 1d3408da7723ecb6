"""The ``scripted`` backend: the composed reply streamed word by word, then ``GenerationDone``."""

from tests.backends.test_scripted_replies import context
from worker.backends.base import (
    ChatMessage,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    TextDelta,
)
from worker.backends.scripted import ScriptedBackend
from worker.scripted_replies.compose import compose_reply


async def collect(request: GenerationRequest) -> tuple[list[str], GenerationDone]:
    deltas, done = [], None
    async for event in ScriptedBackend().generate(request):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            done = event
    assert done is not None
    return deltas, done


async def test_reply_streams_word_by_word_then_done() -> None:
    ctx = context("question")
    deltas, done = await collect(GenerationRequest(messages=[], context=ctx))
    assert "".join(deltas) == compose_reply(ctx)
    assert len(deltas) == len(compose_reply(ctx).split())
    assert (done.backend, done.finish_reason, done.completion_tokens) == (
        "scripted", "stop", len(deltas))


async def test_max_tokens_cuts_the_reply_with_finish_reason_length() -> None:
    request = GenerationRequest(messages=[], context=context("question"),
                                options=GenerationOptions(max_tokens=3))
    deltas, done = await collect(request)
    assert len(deltas) == 3
    assert done.finish_reason == "length"


async def test_without_context_it_echoes_the_last_user_message() -> None:
    request = GenerationRequest(messages=[ChatMessage("user", "ping")])
    deltas, _ = await collect(request)
    assert "".join(deltas) == "You said: ping"


async def test_check_always_succeeds() -> None:
    await ScriptedBackend().check()
