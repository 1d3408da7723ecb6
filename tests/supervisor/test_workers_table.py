"""``greenroom ps``'s table: full values without a terminal, fitted to a terminal's width
without ever cutting a character id, pid, state or debug port."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from protocol.admin import WorkerInfo
from supervisor.commands.workers_table import (
    DROP_ORDER,
    fit_columns,
    format_bytes,
    format_code,
    format_uptime,
    render_notes,
    render_workers,
)

CRASH = "exit -9 (SIGKILL) after 3m12s: killed because it stopped answering heartbeats"
WORKERS = [
    WorkerInfo(character_id="m-playful", pid=4194301, state="debugging", uptime_s=192.5,
               restarts=2, rss_bytes=69_267_456, uss_bytes=25_030_656, sessions=3,
               generation=3, debug_port=47831, last_crash=CRASH, code_generation=2,
               code_loaded_at="2024-03-01T10:15:00+00:00",
               stale="code generation 2 is stale: worker/backends/scripted.py changed on disk"),
    WorkerInfo(character_id="zen-master", pid=4194302, state="ready", uptime_s=4000,
               restarts=0, rss_bytes=58_404_864, uss_bytes=8_421_376, sessions=1,
               generation=1),
    WorkerInfo(character_id="lamplighter", state="failed", restarts=6, last_crash="exit 1"),
]
ESSENTIAL = {"m-playful": ("4194301", "debugging", "127.0.0.1:47831"),
             "zen-master": ("4194302", "ready", "-"),
             "lamplighter": ("-", "failed", "-")}


def rows(text: str) -> dict[str, list[str]]:
    """Each worker row split on whitespace, by character id (the header under ``HEADER``)."""
    header, *lines = text.splitlines()
    return {"HEADER": header.split(), **{line.split()[0]: line.split() for line in lines}}


def assert_essentials_whole(text: str) -> None:
    table = rows(text)
    headers = table["HEADER"]
    for character_id, (pid, state, debug) in ESSENTIAL.items():
        row = table[character_id]
        assert row[headers.index("PID")] == pid, text
        assert row[headers.index("STATE")] == state, text
        assert row[headers.index("DEBUG")] == debug, text


def test_without_a_terminal_every_value_is_printed_whole() -> None:
    text = render_workers(WORKERS, None)
    table = rows(text)
    assert table["m-playful"][:10] == ["m-playful", "4194301", "debugging", "3m12s", "2",
                                       "66.1MiB", "23.9MiB", "3", "g2@2024-03-01*",
                                       "127.0.0.1:47831"]
    assert text.splitlines()[1].endswith(CRASH)
    assert table["lamplighter"][1:] == ["-", "failed", "-", "6", "-", "-", "0", "-", "-",
                                        "exit", "1"]
    assert "…" not in text


def test_without_a_terminal_the_columns_are_aligned() -> None:
    header, *lines = render_workers(WORKERS, None).splitlines()
    for column in ("PID", "STATE", "DEBUG", "LAST CRASH"):
        start = header.index(column)
        assert all(line[start - 1] == " " and line[start] != " " for line in lines), column


def test_at_80_columns_rss_goes_and_id_pid_state_and_debug_port_stay_whole() -> None:
    text = render_workers(WORKERS, 80)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "RSS" not in rows(text)["HEADER"]
    assert_essentials_whole(text)


def test_at_140_columns_every_column_fits_and_only_the_crash_is_shortened() -> None:
    text = render_workers(WORKERS, 140)
    assert all(len(line) <= 140 for line in text.splitlines()), text
    assert rows(text)["HEADER"] == ["CHARACTER", "PID", "STATE", "UPTIME", "RESTARTS", "RSS",
                                    "USS", "CLIENTS", "CODE", "DEBUG", "LAST", "CRASH"]
    assert_essentials_whole(text)
    header, crash_line = text.splitlines()[:2]
    crash = crash_line[header.index("LAST CRASH"):]
    assert crash.endswith("…") and CRASH.startswith(crash[:-1]), crash


def test_a_terminal_narrower_than_the_essentials_still_gets_them_whole() -> None:
    text = render_workers(WORKERS, 20)
    assert rows(text)["HEADER"] == ["CHARACTER", "PID", "STATE", "DEBUG"]
    assert_essentials_whole(text)


def test_columns_are_dropped_only_in_the_drop_order() -> None:
    natural = {"CHARACTER": 11, "PID": 7, "STATE": 9, "UPTIME": 6, "RESTARTS": 8, "RSS": 7,
               "USS": 7, "CLIENTS": 7, "CODE": 12, "DEBUG": 15, "LAST CRASH": 60}
    for width in range(200, 10, -1):
        kept = fit_columns(natural, width)
        dropped = [name for name in natural if name not in kept]
        assert sorted(dropped, key=DROP_ORDER.index) == list(DROP_ORDER[: len(dropped)])
        assert {"CHARACTER", "PID", "STATE", "DEBUG"} <= kept.keys()
        assert all(kept[name] == natural[name] for name in kept if name != "LAST CRASH")


def test_colour_changes_no_width() -> None:
    coloured = render_workers(WORKERS, 80, color=True)
    assert coloured != render_workers(WORKERS, 80)
    assert click.unstyle(coloured) == render_workers(WORKERS, 80)


def test_sizes_and_uptimes_read_like_ps() -> None:
    assert format_bytes(50 * 1024 * 1024) == "50.0MiB"
    assert format_bytes(None) == "-"
    assert format_uptime(3725) == "1h02m"
    assert format_uptime(42.9) == "42s"


def test_the_code_column_shows_the_generation_and_today_s_load_time() -> None:
    loaded = datetime(2024, 3, 1, 14, 3, 5).astimezone()
    worker = WorkerInfo(character_id="zen", code_generation=3,
                        code_loaded_at=loaded.isoformat())
    assert format_code(worker, now=loaded) == "g3@14:03:05"
    assert format_code(worker, now=loaded + timedelta(days=1)) == "g3@2024-03-01"
    assert format_code(WorkerInfo(character_id="zen")) == "-"


def test_stale_workers_are_starred_and_explained_under_the_table() -> None:
    notes = render_notes(WORKERS, "worker/x.py:3: SyntaxError: invalid syntax")
    assert notes.splitlines() == [
        "* m-playful: code generation 2 is stale: worker/backends/scripted.py changed on disk",
        "reload failed: worker/x.py:3: SyntaxError: invalid syntax (fix it, then "
        "`greenroom reload`)"]
    assert render_notes(WORKERS[1:], None) == ""


def test_a_node_column_appears_only_when_workers_run_on_ray_nodes() -> None:
    local = render_workers(WORKERS, None)
    on_ray = render_workers([WorkerInfo(character_id="m-playful", pid=7, state="ready",
                                        node="3f2a9c1d@10.0.0.5")], None)
    assert "NODE" not in local.splitlines()[0]
    header, row = on_ray.splitlines()
    assert header.split()[:3] == ["CHARACTER", "PID", "NODE"]
    assert row.split()[:3] == ["m-playful", "7", "3f2a9c1d@10.0.0.5"]
