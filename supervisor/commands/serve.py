"""``greenroom serve``: the supervisor process — log sink, fork server, workers, gateway.

Wiring and signals only; every part has its own module. Start-up order: log sink, worker
pool (fork server), gateway, preloaded characters. Shutdown on SIGTERM/SIGINT (graceful,
exit 0): the gateway stops accepting and lets in-flight requests finish within the grace
period, then every worker is stopped in parallel (Shutdown → SIGTERM → SIGKILL), then the
fork server; nothing is left running. With ``--reload`` a watcher (``reload_watch``) reloads
the workers whose code or character file changed, for as long as the server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

import click
import structlog

from protocol.states import WorkerState
from runtime.log_chain import route_records
from runtime.platform_support import PlatformSettingError, mechanisms
from runtime.settings import Settings, SettingsError, load_settings
from supervisor.commands.placement import (
    LOCAL,
    PlacedPool,
    Placement,
    placed_pool,
    placement_options,
    started_note,
)
from supervisor.logs.sink import LogSink, open_sink
from supervisor.pool.api import PoolError
from supervisor.pool.supervised_worker import DebugConfig
from supervisor.pool.worker_pool import WorkerPool

log = structlog.get_logger()

DEBUG_PORT_TIMEOUT_S = 30.0


def parse_debug_target(value: str) -> tuple[str, DebugConfig]:
    """``ID`` or ``ID:PORT`` → (id, debugger on that port; 0 lets the OS choose)."""
    character_id, _, port_text = value.partition(":")
    if not character_id:
        raise click.BadParameter(f"{value!r}: expected ID or ID:PORT")
    if not port_text:
        return character_id, DebugConfig()
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise click.BadParameter(f"{value!r}: PORT must be a number from 0 to 65535")
    return character_id, DebugConfig(port=int(port_text))


def _say(text: str, *, err: bool = False) -> None:
    click.echo(text, err=err)
    (sys.stderr if err else sys.stdout).flush()


async def run_server(
    settings: Settings,
    preload_ids: Iterable[str],
    debug: dict[str, DebugConfig],
    sink: LogSink,
    *,
    reload: bool = False,
    placement: Placement = LOCAL,
    owns_cast: bool = True,
) -> int:
    """Serve until SIGTERM/SIGINT (reloading on file changes with ``reload``); returns the
    exit code."""
    from supervisor.gateway.access import GatewayConfigError
    from supervisor.gateway.gateway import Gateway

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    pool = placed_pool(settings, placement, sink, debug, owns_cast=owns_cast)
    gateway = Gateway(settings, pool)
    pool.listener = gateway
    try:
        try:
            await pool.start()
        except (PoolError, RuntimeError) as exc:
            _say(f"greenroom: cannot start the {placement.name} placement: {exc}", err=True)
            return 2
        # Starting a Ray head installs Ray's own SIGTERM handler: ours again.
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        note = started_note(pool)
        if note is not None:
            _say(note)
        try:
            await gateway.start()
        except (GatewayConfigError, OSError) as exc:
            _say(f"greenroom: cannot start the gateway: {exc}", err=True)
            return 2
        scheme = "wss" if settings.gateway.tls_cert else "ws"
        _say(f"greenroom listening on {scheme}://{settings.gateway.host}:{gateway.port}")
        # SIGTERM while characters start (Ray actors may take seconds each) stops at once.
        preloading = asyncio.create_task(
            _preload(pool, list(dict.fromkeys([*preload_ids, *debug])), debug, stop),
            name="preload")
        stopping = asyncio.create_task(stop.wait(), name="stop-wait")
        await asyncio.wait({preloading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        preloading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await preloading
        if reload and not stop.is_set():
            from supervisor.commands.reload_watch import watch_and_reload

            watcher = asyncio.create_task(
                watch_and_reload(_local(pool), settings.characters_dir, stop, _say),
                name="reload-watch")
            _say("greenroom reloads the workers when their code or character file changes")
            await stop.wait()
            watcher.cancel()  # a reload under way stops waiting for its roll
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        else:
            await stop.wait()
        _say("greenroom shutting down")
        log.info("shutdown_started", grace_s=settings.restart.shutdown_grace_s)
        await gateway.close(settings.restart.shutdown_grace_s)
    finally:
        await pool.close(settings.restart.shutdown_grace_s)
        log.info("shutdown_complete")
    return 0


async def _preload(
    pool: PlacedPool, ids: list[str], debug: dict[str, DebugConfig], stop: asyncio.Event
) -> None:
    """Start the workers; report each as it is ready (or failed). A worker held by
    ``--debug-wait`` is reported once its debugger listens, without waiting for it."""
    waiting = [cid for cid in ids if debug.get(cid, DebugConfig()).wait]
    serving = [cid for cid in ids if cid not in waiting]
    for character_id in waiting:
        assert isinstance(pool, WorkerPool), "--debug needs the local placement"
        pool.launch(character_id)
    states = await pool.preload(serving)
    for snapshot in pool.snapshots():
        if snapshot.character_id in states:
            _say(_describe(snapshot.character_id, snapshot.state, snapshot.pid,
                           snapshot.debug_port, snapshot.last_crash, snapshot.node))
    for character_id in waiting:
        assert isinstance(pool, WorkerPool)
        port = await pool.wait_for_debugger(character_id, DEBUG_PORT_TIMEOUT_S)
        _say(f"  {character_id}: waiting for a debugger on 127.0.0.1:{port} "
             f"(pid {_pid(pool, character_id)})")


def _local(pool: PlacedPool) -> WorkerPool:
    assert isinstance(pool, WorkerPool), "--reload needs the local placement"
    return pool


def _pid(pool: PlacedPool, character_id: str) -> Any:
    return next((s.pid for s in pool.snapshots() if s.character_id == character_id), None)


def _describe(character_id: str, state: WorkerState, pid: int | None, debug_port: int | None,
              last_crash: str | None, node: str | None = None) -> str:
    if state == "failed":
        return (f"  {character_id}: FAILED ({last_crash}); fix it, then "
                f"`greenroom restart {character_id}`")
    where = f"pid {pid} on node {node}" if node is not None else f"pid {pid}"
    text = f"  {character_id}: {state} ({where})"
    if debug_port is not None:
        text += f", debugger on 127.0.0.1:{debug_port}"
    return text


def door_options(command: Any) -> Any:
    """The gateway's own options, shared by ``serve`` and ``gateway``."""
    options = [
        click.option("--host", default=None, help="Bind address (default 127.0.0.1)."),
        click.option("--port", type=int, default=None,
                     help="WebSocket port (default 8765; 0: any)."),
        click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                     help="Runtime data (databases, logs)."),
        click.option("--characters-dir", type=click.Path(path_type=Path), default=None,
                     help="Where the character files are."),
        click.option("--log-format", type=click.Choice(["json", "console"]), default=None,
                     help="Console log format (default: readable on a TTY, JSON otherwise)."),
        click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
                     default=None),
        click.option("--token", default=None, help="Require this token from clients."),
        click.option("--insecure", is_flag=True, default=None,
                     help="Allow a non-loopback bind without a token."),
        click.option("--tls-cert", type=click.Path(path_type=Path), default=None,
                     help="PEM certificate: serve wss:// (with --tls-key)."),
        click.option("--tls-key", type=click.Path(path_type=Path), default=None,
                     help="PEM private key for --tls-cert."),
        click.option("--allowed-origin", "allowed_origins", multiple=True, metavar="ORIGIN",
                     help="Origin a browser client may connect from (repeatable)."),
        click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
                     help="Host name clients may use besides the bind address and localhost "
                          "(repeatable)."),
        placement_options,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("serve")
@click.option("-c", "--character", "characters", multiple=True, metavar="ID",
              help="Preload this character (repeatable); others start on first use.")
@click.option("--all", "all_characters", is_flag=True, help="Preload every valid character.")
@click.option("--engine", type=click.Choice(["scripted", "ollama", "openai"]), default=None,
              help="LLM backend of every worker.")
@click.option("--debug", "debug_targets", multiple=True, metavar="ID[:PORT]",
              help="Start that worker with debugpy on 127.0.0.1:PORT (repeatable).")
@click.option("--debug-wait", is_flag=True,
              help="Hold the --debug workers until a debugger attaches.")
@click.option("--reload", "reload", is_flag=True,
              help="Watch the code and the characters directory; reload what changed.")
@door_options
def serve(
    characters: tuple[str, ...],
    all_characters: bool,
    engine: str | None,
    debug_targets: tuple[str, ...],
    debug_wait: bool,
    reload: bool,
    placement: Placement,
    **door: Any,
) -> None:
    """Start the supervisor: the gateway plus one worker process per character."""
    settings = _settings({**door, "engine": engine})
    debug: dict[str, DebugConfig] = {}
    if (debug_targets or reload) and placement.name != "local":
        raise click.UsageError("--debug and --reload need --placement local")
    for target in debug_targets:
        character_id, config = parse_debug_target(target)
        debug[character_id] = DebugConfig(port=config.port, wait=debug_wait)
    preload = list(characters)
    if all_characters:
        from schemas.loader import list_characters

        preload += [s.id for s in list_characters(settings.characters_dir) if s.ok]
    _run(settings, lambda sink: run_server(settings, preload, debug, sink, reload=reload,
                                           placement=placement))


@click.command("gateway")
@door_options
def gateway(placement: Placement, **door: Any) -> None:
    """Another gateway to the characters of a Ray cluster (started by `serve --placement
    ray`): the same characters, the same sessions' events, no workers of its own."""
    if placement.name != "ray" or placement.ray_address is None:
        raise click.UsageError("gateway needs --placement ray --ray-address HOST:PORT")
    settings = _settings(door)
    _run(settings, lambda sink: run_server(settings, [], {}, sink, placement=placement,
                                           owns_cast=False))


def _settings(flags: dict[str, Any]) -> Settings:
    flags = {**flags, "allowed_origins": flags.get("allowed_origins") or None,
             "allowed_hosts": flags.get("allowed_hosts") or None}
    try:
        return load_settings(flags)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run(settings: Settings, server: Callable[[LogSink], Coroutine[Any, Any, int]]) -> None:
    try:
        platform = mechanisms()
    except PlatformSettingError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        sink = open_sink(settings.log_file, max_bytes=settings.logging.log_max_bytes,
                         backups=settings.logging.log_backups, level=settings.logging.log_level,
                         log_format=settings.logging.log_format)
    except OSError as exc:
        _say(f"greenroom: cannot start: cannot open the log file {settings.log_file} "
             f"({exc.strerror}: {exc.filename}); give a writable --data-dir", err=True)
        sys.exit(2)
    route_records(sink.emit, level=settings.logging.log_level)
    log.info("platform_mechanisms", **platform.describe())
    try:
        code = asyncio.run(server(sink))
    except Exception as exc:
        log.exception("serve_failed")
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    finally:
        sink.close()
    sys.exit(code)
