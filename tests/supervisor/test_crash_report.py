"""Crash reports: how a worker's death is described for ps and the log."""

from __future__ import annotations

from supervisor.pool.crash_report import CrashReport, describe_exit


def test_negative_exit_codes_name_the_signal() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"


def test_positive_exit_codes_are_exit_codes() -> None:
    assert describe_exit(3) == "exit code 3"


def test_summary_prefers_the_fatal_error_over_stderr() -> None:
    report = CrashReport("zen", 10, 2, 1, 0.3, stderr_tail=("noise",), error="boom")
    assert report.summary == "exit code 1: boom"


def test_summary_falls_back_to_the_last_stderr_line() -> None:
    report = CrashReport("zen", 10, 2, -11, 0.3, stderr_tail=("a", "Segfault here", ""))
    assert report.summary == "killed by SIGSEGV: Segfault here"


def test_summary_says_why_the_supervisor_killed_it() -> None:
    report = CrashReport("zen", 10, 2, -9, 12.0, killed_because="no heartbeat for 10.0 s")
    assert report.summary == "killed by SIGKILL (no heartbeat for 10.0 s)"
