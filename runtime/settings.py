"""greenroom's one settings object.

Precedence: command-line flags, then environment variables (a ``.env`` file in the current
directory is read with python-dotenv and never overrides a variable already set), then the
defaults below. Defaults are safe: loopback bind, offline ``scripted`` engine.
Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runtime.web_names import normal_host, normal_origin

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_MAX_MESSAGE_CHARS: Final = 32_000
"""Default of ``GREENROOM_MAX_MESSAGE_CHARS``: about 5,000 English words, a long letter."""

EngineName = Literal["scripted", "ollama", "openai"]
LogFormat = Literal["console", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
#: ``auto``: the model writes memories when it is a real LLM (not ``scripted``).
ModelMemoryMode = Literal["auto", "on", "off"]


class _Slice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GatewaySettings(_Slice):
    """The gateway: where it listens, who may connect, and its limits per session."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    token: str | None = None
    insecure: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_frame_bytes: int = Field(default=1024 * 1024, gt=0)
    chat_queue_depth: int = Field(default=8, ge=1)
    session_send_queue: int = Field(default=256, ge=1)
    session_request_limit: int = Field(default=64, ge=1)

    @field_validator("allowed_origins")
    @classmethod
    def _normal_origins(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        """``http://LocalHost:3000/`` → ``http://localhost:3000``; a value that is no origin
        is kept as given, for the gateway to refuse at start (``check_allowed_names``)."""
        return tuple(normal_origin(v) or v for v in values)

    @field_validator("allowed_hosts")
    @classmethod
    def _normal_hosts(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        """``Box.LAN.:8765`` → ``box.lan`` (a request's port never matters); a value that is
        no host name is kept as given, for the gateway to refuse at start."""
        return tuple(normal_host(v) or v for v in values)


class EngineSettings(_Slice):
    """The character engine in each worker: its LLM backend, timings and prompt budget.

    ``backend`` is ``--engine`` / ``GREENROOM_ENGINE``. ``max_message_chars`` is the engine's
    limit, which the gateway also applies before a message crosses a pipe. The prompt's
    budget is the model's context window (as its server says it, else ``context_tokens``)
    minus the reply's ``llm_max_tokens``, at most ``prompt_token_budget`` when that is set;
    the newest ``prompt_min_exchanges`` exchanges are kept whatever the budget
    (``worker.engine.prompt_budget``)."""

    backend: EngineName = "scripted"
    ollama_base_url: str = "http://localhost:11434"
    ollama_model: str = "llama3.2"
    ollama_keep_alive: str = "5m"
    openai_base_url: str = "http://localhost:8080/v1"
    openai_model: str = "default"
    openai_api_key: str | None = None
    embedding_model: str | None = None
    embedding_base_url: str | None = None  # None: the chat server's URL
    llm_temperature: float = Field(default=0.8, ge=0.0, le=2.0)
    llm_num_ctx: int = Field(default=4096, gt=0)
    llm_max_tokens: int = Field(default=512, gt=0)
    llm_connect_timeout_s: float = Field(default=5.0, gt=0)
    llm_first_token_timeout_s: float = Field(default=300.0, gt=0)
    llm_silence_timeout_s: float = Field(default=60.0, gt=0)
    scripted_word_delay_s: float = Field(default=0.0, ge=0, le=5.0)
    decay_half_life_s: float = Field(default=600.0, gt=0)
    context_tokens: int = Field(default=4096, gt=0)
    prompt_token_budget: int | None = Field(default=None, gt=0)
    prompt_min_exchanges: int = Field(default=3, ge=0)
    max_message_chars: int = Field(default=DEFAULT_MAX_MESSAGE_CHARS, gt=0)
    model_memory: ModelMemoryMode = "auto"  # docs/memory.md, "Written by the model"
    model_memory_reflect_every: int = Field(default=10, ge=0)  # 0: never reflect


class RestartSettings(_Slice):
    """The pool's supervision of each worker: restart intensity and backoff, heartbeats, how
    long a start and a shutdown may take, and the memory limit."""

    restart_max: int = Field(default=5, ge=0)
    restart_window_s: float = Field(default=30.0, gt=0)
    restart_backoff_initial_s: float = Field(default=0.01, ge=0)
    restart_backoff_max_s: float = Field(default=5.0, ge=0)
    restart_stable_after_s: float = Field(default=60.0, gt=0)
    heartbeat_interval_s: float = Field(default=1.0, gt=0)
    heartbeat_timeout_s: float = Field(default=10.0, gt=0)
    ready_timeout_s: float = Field(default=20.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    worker_memory_limit_mb: int | None = Field(default=None, gt=0)


class PlacementSettings(_Slice):
    """Where ``--placement ray`` runs each character: ``ray_pins`` (``ID=VALUE,…``; ``*`` for
    every other character) pins those characters' actors to the Ray nodes labelled
    ``greenroom-data=VALUE``, whose disks hold their databases; unpinned characters need the
    shared data directory on every node (docs/scaling.md)."""

    ray_pins: str | None = None


class LoggingSettings(_Slice):
    """The one log stream: level, console format, and the file's rotation."""

    log_level: LogLevel = "info"
    log_format: LogFormat | None = None  # None: console on a TTY, JSON otherwise
    log_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    log_backups: int = Field(default=5, ge=0)


class Settings(_Slice):
    """Everything configurable: the files every part reads, and one slice per part.

    Each part takes the slice it needs (``settings.gateway``, ``settings.engine``,
    ``settings.restart``, ``settings.logging``); a worker gets the whole object. Units are in
    the field names where they matter. Build one from flag/variable names with
    ``Settings.from_flat`` or ``load_settings``."""

    data_dir: Path = REPO_ROOT / "data"
    characters_dir: Path = REPO_ROOT / "schemas" / "characters"
    server_url: str = "ws://localhost:8765"
    gateway: GatewaySettings = GatewaySettings()
    engine: EngineSettings = EngineSettings()
    restart: RestartSettings = RestartSettings()
    placement: PlacementSettings = PlacementSettings()
    logging: LoggingSettings = LoggingSettings()

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "greenroom.jsonl"

    @classmethod
    def from_flat(cls, **values: Any) -> Settings:
        """Settings from flag names (``host=``, ``engine=``, ``log_level=``, …), each put into
        its slice; an unknown name raises ``TypeError``. Raises pydantic's
        ``ValidationError`` for a bad value."""
        nested: dict[str, Any] = {}
        for name, value in values.items():
            if name not in FLAT_FIELDS:
                raise TypeError(f"no setting is called {name!r}")
            part, field = FLAT_FIELDS[name]
            if part is None:
                nested[field] = value
            else:
                nested.setdefault(part, {})[field] = value
        return cls(**nested)


SLICES: dict[str, type[_Slice]] = {"gateway": GatewaySettings, "engine": EngineSettings,
                                   "restart": RestartSettings, "placement": PlacementSettings,
                                   "logging": LoggingSettings}

# A flag name → (slice or None for the root, field). Flag names are the field names, but for
# ``engine`` (the backend's name; ``settings.engine`` is the engine's slice).
FLAT_FIELDS: dict[str, tuple[str | None, str]] = {
    **{name: (None, name) for name in ("data_dir", "characters_dir", "server_url")},
    **{("engine" if name == "backend" else name): (part, name)
       for part, model in SLICES.items() for name in model.model_fields},
}


# Environment variable → settings field. Seed-era names (OLLAMA_*) are kept as they were.
ENV_VARS: dict[str, str] = {
    "GREENROOM_HOST": "host",
    "GREENROOM_PORT": "port",
    "GREENROOM_TOKEN": "token",
    "GREENROOM_INSECURE": "insecure",
    "GREENROOM_TLS_CERT": "tls_cert",
    "GREENROOM_TLS_KEY": "tls_key",
    "GREENROOM_ALLOWED_ORIGINS": "allowed_origins",
    "GREENROOM_ALLOWED_HOSTS": "allowed_hosts",
    "GREENROOM_SERVER_URL": "server_url",
    "GREENROOM_DATA_DIR": "data_dir",
    "GREENROOM_CHARACTERS_DIR": "characters_dir",
    "GREENROOM_ENGINE": "engine",
    "OLLAMA_BASE_URL": "ollama_base_url",
    "OLLAMA_MODEL": "ollama_model",
    "OLLAMA_KEEP_ALIVE": "ollama_keep_alive",
    "OPENAI_BASE_URL": "openai_base_url",
    "OPENAI_MODEL": "openai_model",
    "OPENAI_API_KEY": "openai_api_key",
    "GREENROOM_EMBEDDING_MODEL": "embedding_model",
    "GREENROOM_EMBEDDING_BASE_URL": "embedding_base_url",
    "GREENROOM_LLM_TEMPERATURE": "llm_temperature",
    "GREENROOM_LLM_NUM_CTX": "llm_num_ctx",
    "GREENROOM_LLM_MAX_TOKENS": "llm_max_tokens",
    "GREENROOM_LLM_CONNECT_TIMEOUT": "llm_connect_timeout_s",
    "GREENROOM_LLM_FIRST_TOKEN_TIMEOUT": "llm_first_token_timeout_s",
    "GREENROOM_LLM_SILENCE_TIMEOUT": "llm_silence_timeout_s",
    "GREENROOM_SCRIPTED_WORD_DELAY": "scripted_word_delay_s",
    "GREENROOM_DECAY_HALF_LIFE": "decay_half_life_s",
    "GREENROOM_CONTEXT_TOKENS": "context_tokens",
    "GREENROOM_PROMPT_TOKEN_BUDGET": "prompt_token_budget",
    "GREENROOM_PROMPT_MIN_EXCHANGES": "prompt_min_exchanges",
    "GREENROOM_REQUEST_TIMEOUT": "request_timeout_s",
    "GREENROOM_MAX_FRAME_BYTES": "max_frame_bytes",
    "GREENROOM_MAX_MESSAGE_CHARS": "max_message_chars",
    "GREENROOM_MODEL_MEMORY": "model_memory",
    "GREENROOM_MODEL_MEMORY_REFLECT_EVERY": "model_memory_reflect_every",
    "GREENROOM_CHAT_QUEUE_DEPTH": "chat_queue_depth",
    "GREENROOM_SESSION_SEND_QUEUE": "session_send_queue",
    "GREENROOM_SESSION_REQUEST_LIMIT": "session_request_limit",
    "GREENROOM_RAY_PINS": "ray_pins",
    "GREENROOM_RESTART_MAX": "restart_max",
    "GREENROOM_RESTART_WINDOW": "restart_window_s",
    "GREENROOM_RESTART_BACKOFF_INITIAL": "restart_backoff_initial_s",
    "GREENROOM_RESTART_BACKOFF_MAX": "restart_backoff_max_s",
    "GREENROOM_RESTART_STABLE_AFTER": "restart_stable_after_s",
    "GREENROOM_HEARTBEAT_INTERVAL": "heartbeat_interval_s",
    "GREENROOM_HEARTBEAT_TIMEOUT": "heartbeat_timeout_s",
    "GREENROOM_READY_TIMEOUT": "ready_timeout_s",
    "GREENROOM_SHUTDOWN_GRACE": "shutdown_grace_s",
    "GREENROOM_WORKER_MEMORY_LIMIT_MB": "worker_memory_limit_mb",
    "GREENROOM_LOG_LEVEL": "log_level",
    "GREENROOM_LOG_FORMAT": "log_format",
    "GREENROOM_LOG_MAX_BYTES": "log_max_bytes",
    "GREENROOM_LOG_BACKUPS": "log_backups",
}

_TUPLE_FIELDS = {"allowed_origins", "allowed_hosts"}


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable or flag."""


def _from_env(env: Mapping[str, str | None]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for var, field in ENV_VARS.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        if field in _TUPLE_FIELDS:
            values[field] = tuple(part.strip() for part in raw.split(",") if part.strip())
        else:
            values[field] = raw
    return values


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Build the settings: ``flags`` (``None`` values ignored) over environment over defaults.

    ``environ`` defaults to ``os.environ``; ``dotenv_path`` to ``./.env``. Variables already
    in the environment win over the ``.env`` file, as python-dotenv does by default.
    """
    env: dict[str, str | None] = {}
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    if path.is_file():
        env.update(dotenv_values(path))
    env.update(os.environ if environ is None else environ)
    values = _from_env(env)
    values.update({k: v for k, v in (flags or {}).items() if v is not None})
    try:
        return Settings.from_flat(**values)
    except ValidationError as exc:
        field_to_var = {field: var for var, field in ENV_VARS.items()}
        problems = []
        for err in exc.errors():
            field = _flat_name(err["loc"])
            source = f"--{field.replace('_', '-')} / {field_to_var.get(field, '?')}"
            problems.append(f"{source}: {err['msg']} (got {err.get('input')!r})")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None


def _flat_name(loc: tuple[int | str, ...]) -> str:
    """The flag name of an error's location: ``("gateway", "port")`` → ``port``."""
    if not loc:
        return "?"
    if len(loc) >= 2 and loc[0] in SLICES:
        part, field = str(loc[0]), str(loc[1])
        return next((flag for flag, where in FLAT_FIELDS.items() if where == (part, field)),
                    field)
    return str(loc[0])
