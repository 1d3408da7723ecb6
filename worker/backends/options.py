"""Which model and sampling settings a generation runs with.

Three layers, most specific wins: the server's settings (``GREENROOM_LLM_*``, ``OLLAMA_MODEL``,
``OPENAI_MODEL``), then the character's ``llm:`` overrides, then the options the engine puts
on one ``GenerationRequest`` — a chat request's ``options`` (what ``/set`` set for the
session; ``request_options``). Pure functions: no I/O, no globals.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from worker.backends.base import GenerationOptions

if TYPE_CHECKING:
    from protocol.generation import GenerationSettings
    from runtime.settings import EngineSettings
    from schemas.model import ModelOverrides


def settings_model(engine: EngineSettings) -> str:
    """The model named by the settings for the configured engine (``scripted`` has none)."""
    if engine.backend == "openai":
        return engine.openai_model
    if engine.backend == "ollama":
        return engine.ollama_model
    return "scripted"


def default_options(engine: EngineSettings, overrides: ModelOverrides | None) -> GenerationOptions:
    """The options every generation of one character starts from.

    Every field is filled (model, temperature, ``num_ctx``, ``max_tokens``, ``keep_alive``) so
    a backend never falls back to a server default silently: Ollama's own ``num_ctx`` default
    is small enough to cut a role-play prompt without saying so.
    """
    base = GenerationOptions(
        model=settings_model(engine),
        temperature=engine.llm_temperature,
        num_ctx=engine.llm_num_ctx,
        max_tokens=engine.llm_max_tokens,
        keep_alive=engine.ollama_keep_alive,
    )
    if overrides is None:
        return base
    return merge_options(
        base,
        GenerationOptions(
            model=overrides.model,
            temperature=overrides.temperature,
            top_p=overrides.top_p,
            num_ctx=overrides.num_ctx,
            max_tokens=overrides.max_tokens,
            stop=tuple(overrides.stop),
        ),
    )


def merge_options(base: GenerationOptions, top: GenerationOptions) -> GenerationOptions:
    """``top`` over ``base``: a ``None`` field, or an empty ``stop``, in ``top`` keeps
    ``base``'s value."""
    return replace(
        base,
        model=top.model if top.model is not None else base.model,
        temperature=top.temperature if top.temperature is not None else base.temperature,
        top_p=top.top_p if top.top_p is not None else base.top_p,
        num_ctx=top.num_ctx if top.num_ctx is not None else base.num_ctx,
        max_tokens=top.max_tokens if top.max_tokens is not None else base.max_tokens,
        stop=top.stop or base.stop,
        keep_alive=top.keep_alive if top.keep_alive is not None else base.keep_alive,
    )


def request_options(settings: GenerationSettings | None) -> GenerationOptions:
    """A request's own settings as the top layer for ``merge_options`` (``None``: none)."""
    if settings is None:
        return GenerationOptions()
    return GenerationOptions(model=settings.model, temperature=settings.temperature,
                             top_p=settings.top_p, max_tokens=settings.max_tokens)
