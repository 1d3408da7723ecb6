# greenroom — the two commands a newcomer needs are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test test-fast test-real-llm lint typecheck check bench schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Start the supervisor with bundled characters in the background (its own session — os.setsid,
# as macOS has no setsid command — so Ctrl+C
# in the chat cancels a reply instead of stopping the server), wait until it is healthy, open
# the chat, and stop the supervisor when the chat ends. Logs: data/logs/greenroom.jsonl.
DEMO_CHARACTERS ?= m-playful f-serious zen-master
DEMO_PORT ?= 8765
demo: setup
	@mkdir -p data/logs
	@GREENROOM_SCRIPTED_WORD_DELAY=$${GREENROOM_SCRIPTED_WORD_DELAY:-0.04} \
	  $(PY) -c 'import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])' \
	    $(VENV)/bin/greenroom serve --port $(DEMO_PORT) --log-format json \
	    $(foreach c,$(DEMO_CHARACTERS),-c $(c)) > data/logs/demo-serve.out 2>&1 & \
	server=$$!; \
	trap 'kill -TERM $$server 2>/dev/null; wait $$server 2>/dev/null' EXIT; \
	$(PY) -m supervisor.commands.wait_healthy --port $(DEMO_PORT) --pid $$server --timeout 30 \
	  || { cat data/logs/demo-serve.out; exit 1; }; \
	$(VENV)/bin/greenroom ps --server-url ws://127.0.0.1:$(DEMO_PORT); \
	$(VENV)/bin/greenroom chat --server-url ws://127.0.0.1:$(DEMO_PORT) \
	  -c $(firstword $(DEMO_CHARACTERS))

# Spread over the machine's cores (pytest-xdist); the Ray tests stay on one worker, as they
# share one Ray head per module.
test: setup
	$(PY) -m pytest -q -n auto --dist loadgroup

# The edit loop: every test that starts no process (the guard fails one that does unmarked).
test-fast: setup
	$(PY) -m pytest -q -m "not process" --forbid-processes

# The real-model tier (tests/real_llm/, docs/backends.md): llama-cpp-python's server with
# SmolLM2-135M in a virtual environment of its own. The first run compiles llama-cpp-python
# (~20 min on 2 cores) into ~/.cache/greenroom/wheels; later runs install from that wheel.
REAL_LLM_VENV ?= .venv-real-llm
LLAMA_CPP_VERSION ?= 0.3.36
REAL_LLM_STAMP := $(REAL_LLM_VENV)/.installed-llama-cpp-$(LLAMA_CPP_VERSION)

$(REAL_LLM_STAMP): tests/real_llm/install_tier.sh
	tests/real_llm/install_tier.sh $(REAL_LLM_VENV) $(PYTHON) $(LLAMA_CPP_VERSION)
	touch $@

test-real-llm: setup $(REAL_LLM_STAMP)
	REAL_LLM_PYTHON=$(REAL_LLM_VENV)/bin/python $(PY) -m pytest -q --durations=5 tests/real_llm

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy

check: lint typecheck test

bench: setup
	$(PY) -m bench

schemas: setup
	$(PY) -m schemas.schema_gen
	$(PY) -m protocol.schema_gen

clean:
	rm -rf $(VENV) $(REAL_LLM_VENV) .pytest_cache .mypy_cache .ruff_cache
