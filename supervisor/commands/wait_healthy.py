"""``python -m supervisor.commands.wait_healthy``: wait until a just-started supervisor serves.

Used by ``make demo`` (and handy in scripts): polls ``GET /healthz`` until the gateway answers
and no preloaded worker is still ``starting``; exits 1 with a reason if the supervisor process
exits first or the deadline passes. Polling is fine here: this is a start-up helper for a
shell, not part of the server.
"""

from __future__ import annotations

import os
import sys
import time

import click
import httpx


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--pid", type=int, default=None, help="Supervisor pid: fail at once if it exits.")
@click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True)
def main(host: str, port: int, pid: int | None, timeout_s: float) -> None:
    url = f"http://{host}:{port}/healthz"
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        if not _alive(pid):
            click.echo(f"greenroom exited before it was ready (last: {last})", err=True)
            sys.exit(1)
        try:
            document = httpx.get(url, timeout=1.0).json()
        except (httpx.HTTPError, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            states = {w["character_id"]: w["state"] for w in document.get("workers", [])}
            if "starting" not in states.values():
                return
            last = f"starting: {sorted(c for c, s in states.items() if s == 'starting')}"
        time.sleep(0.1)
    click.echo(f"greenroom not ready at {url} after {timeout_s:.0f} s ({last})", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
