"""How many tokens the model behind a backend can take at once, read from what its server says.

Pure functions over the JSON the servers answer, and the one question the engine asks of a
backend (``context_window_of``). Where each number comes from:

* **Ollama** uses the ``num_ctx`` a request sends (greenroom always sends one:
  ``GREENROOM_LLM_NUM_CTX`` or the character's ``llm.num_ctx``), but never more than the
  model was trained for: ``POST /api/show`` answers ``{"model_info": {"general.architecture":
  "llama", "llama.context_length": 131072, ...}, "parameters": "num_ctx 8192\\nstop ...", ...}``
  and Ollama lowers a larger ``num_ctx`` to that ``context_length``. Without a ``num_ctx`` in
  the request, the Modelfile's ``num_ctx`` parameter is what the server uses.
* **llama.cpp's llama-server** says its per-slot context in ``GET /props``:
  ``{"default_generation_settings": {"n_ctx": 8192, ...}, "total_slots": 1, ...}`` (the
  runtime ``-c``, divided among the slots).
* **``GET /v1/models``** where the server puts it in a model's entry: vLLM's
  ``max_model_len``, OpenRouter-style ``context_length`` (and ``top_provider.context_length``),
  ``context_window``, LM Studio's ``max_context_length``; llama-server's ``meta.n_ctx_train``
  is only the context the model was *trained* for (the server may run with less), so it is the
  last resort, used only when ``/props`` said nothing.

A backend that cannot say (the offline ``scripted`` backend, llama-cpp-python's server, which
has neither ``/props`` nor context metadata) answers ``None`` and the engine falls back to
``GREENROOM_CONTEXT_TOKENS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from worker.backends.base import GenerationOptions

#: Keys of a ``/v1/models`` entry that give the context window, most trusted first.
_LISTING_KEYS = ("max_model_len", "context_length", "context_window", "max_context_length")


@dataclass(frozen=True, slots=True)
class ContextWindow:
    """A model's context window in tokens (prompt and reply together) and where it was read,
    in words a user can check (``"llama.cpp GET /props n_ctx"``)."""

    tokens: int
    source: str


@runtime_checkable
class KnowsContextWindow(Protocol):
    """A backend that can say its model's context window for a request's options."""

    def context_window(self, options: GenerationOptions) -> ContextWindow | None:
        """The window a request with ``options`` gets, or ``None`` when unknown (the server
        has not answered yet, or does not say). Never does I/O."""


def context_window_of(backend: object, options: GenerationOptions) -> ContextWindow | None:
    """``backend.context_window(options)`` for a backend that knows it, else ``None``."""
    if isinstance(backend, KnowsContextWindow):
        return backend.context_window(options)
    return None


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = int(value)
    return number if number > 0 and number == value else None


@dataclass(frozen=True, slots=True)
class OllamaModelFacts:
    """What ``/api/show`` says about one model: its trained context length (and the key it
    was under) and the Modelfile's ``num_ctx`` parameter."""

    context_length: int | None = None
    context_key: str | None = None
    modelfile_num_ctx: int | None = None


def ollama_model_facts(show: Any) -> OllamaModelFacts:
    """Read an ``/api/show`` answer; fields it lacks stay ``None`` (never raises)."""
    if not isinstance(show, Mapping):
        return OllamaModelFacts()
    info = show.get("model_info")
    length = key = None
    if isinstance(info, Mapping):
        arch = info.get("general.architecture")
        keys = [f"{arch}.context_length"] if isinstance(arch, str) else []
        keys += sorted(k for k in info if isinstance(k, str) and k.endswith(".context_length"))
        for candidate in keys:
            length = _positive_int(info.get(candidate))
            if length is not None:
                key = candidate
                break
    num_ctx = None
    parameters = show.get("parameters")
    if isinstance(parameters, str):
        for line in parameters.splitlines():
            name, _, value = line.strip().partition(" ")
            if name == "num_ctx" and value.strip().isdigit():
                num_ctx = _positive_int(int(value.strip()))
    return OllamaModelFacts(context_length=length, context_key=key, modelfile_num_ctx=num_ctx)


def ollama_window(num_ctx: int | None, facts: OllamaModelFacts | None) -> ContextWindow | None:
    """The window of an Ollama request sending ``num_ctx`` (``None``: none sent) for a model
    ``facts`` describe (``None``: ``/api/show`` not answered yet)."""
    trained = facts.context_length if facts else None
    if num_ctx is None:
        num_ctx = facts.modelfile_num_ctx if facts else None
        if num_ctx is None:
            return None
        asked = f"the Modelfile's num_ctx {num_ctx} (Ollama /api/show parameters)"
    else:
        asked = f"num_ctx {num_ctx} sent to Ollama"
    if facts is not None and trained is not None and trained < num_ctx:
        return ContextWindow(trained, f"the model's {facts.context_key} {trained} (Ollama"
                                      f" /api/show), below {asked}")
    return ContextWindow(num_ctx, asked)


def llama_cpp_props_window(props: Any) -> ContextWindow | None:
    """The per-slot context of a llama-server ``GET /props`` answer, if it has one."""
    if not isinstance(props, Mapping):
        return None
    settings = props.get("default_generation_settings")
    if isinstance(settings, Mapping):
        n_ctx = _positive_int(settings.get("n_ctx"))
        if n_ctx is not None:
            return ContextWindow(n_ctx, "llama.cpp GET /props default_generation_settings.n_ctx")
    n_ctx = _positive_int(props.get("n_ctx"))
    return ContextWindow(n_ctx, "llama.cpp GET /props n_ctx") if n_ctx is not None else None


def listing_window(listing: Any, model: str) -> ContextWindow | None:
    """The context window a ``GET /v1/models`` answer gives for ``model`` (or for its only
    entry: single-model servers answer to any name), if it gives one."""
    if not isinstance(listing, Mapping) or not isinstance(listing.get("data"), list):
        return None
    entries = [e for e in listing["data"] if isinstance(e, Mapping)]
    entry = next((e for e in entries if e.get("id") == model), None)
    if entry is None and len(entries) == 1:
        entry = entries[0]
    if entry is None:
        return None
    for key in _LISTING_KEYS:
        tokens = _positive_int(entry.get(key))
        if tokens is not None:
            return ContextWindow(tokens, f"GET /v1/models {key}")
    provider = entry.get("top_provider")
    if isinstance(provider, Mapping):
        tokens = _positive_int(provider.get("context_length"))
        if tokens is not None:
            return ContextWindow(tokens, "GET /v1/models top_provider.context_length")
    meta = entry.get("meta")
    if isinstance(meta, Mapping):
        tokens = _positive_int(meta.get("n_ctx_train"))
        if tokens is not None:
            return ContextWindow(tokens, "GET /v1/models meta.n_ctx_train (the context the"
                                         " model was trained for; the server may run with less)")
    return None
