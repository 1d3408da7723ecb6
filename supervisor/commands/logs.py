"""``greenroom logs``: print and follow ``data/logs/greenroom.jsonl``, filtered.

``-f`` follows the file across rotations (like ``tail -F``): when the file is replaced, the
rest of the old one is read first, then the new one from its start. Polls every 0.2 s —
the log writer is another process, and there is no portable file-change event.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

import click

from runtime.settings import SettingsError, load_settings
from supervisor.logs.record_filter import RecordFilter, parse_line
from supervisor.logs.sink import console_renderer

FOLLOW_POLL_S: Final = 0.2


def read_lines(path: Path, follow: bool) -> Iterator[str]:
    """Complete lines of ``path``; with ``follow``, forever (across rotations)."""
    handle: IO[str] | None = None
    pending = ""
    try:
        while True:
            if handle is None:
                try:
                    handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
                except FileNotFoundError:
                    if not follow:
                        return
                    time.sleep(FOLLOW_POLL_S)
                    continue
            chunk = handle.read()
            if chunk:
                pending += chunk
                *lines, pending = pending.split("\n")
                yield from lines
                continue
            if not follow:
                return
            if _replaced(path, handle):
                # Lines appended just before the rotation are still in the old file.
                pending += handle.read()
                yield from (line for line in pending.split("\n") if line)
                handle.close()
                handle, pending = None, ""
                continue
            time.sleep(FOLLOW_POLL_S)
    finally:
        if handle is not None:
            handle.close()


def _replaced(path: Path, handle: IO[str]) -> bool:
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (current.st_ino, current.st_dev) != (opened.st_ino, opened.st_dev) or (
        current.st_size < handle.tell())


@click.command("logs")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="The server's data directory (default: GREENROOM_DATA_DIR, ./data).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new records.")
@click.option("--character", default=None, help="Only records about this character.")
@click.option("--level", type=click.Choice(["debug", "info", "warning", "error"]),
              default=None, help="Minimum level.")
@click.option("--event", default=None, help="Event name; a trailing * matches a prefix.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON lines unchanged.")
def logs(data_dir: Path | None, follow: bool, character: str | None, level: str | None,
         event: str | None, as_json: bool) -> None:
    """Print (and follow) the structured log of every greenroom process."""
    try:
        settings = load_settings({"data_dir": data_dir})
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    path = settings.log_file
    if not follow and not path.exists():
        raise click.ClickException(f"no log file at {path}; has `greenroom serve` run with "
                                   "this --data-dir?")
    keep = RecordFilter(character=character, level=level, event=event)
    render = console_renderer("json" if as_json else None, sys.stdout)
    try:
        for line in read_lines(path, follow):
            record = parse_line(line)
            if record is None or not keep.keeps(record):
                continue
            click.echo(line if as_json else render(record))
    except KeyboardInterrupt:
        pass
