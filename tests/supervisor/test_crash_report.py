"""Crash reports: how a worker's death is described for ps and the log."""

from __future__ import annotations

from supervisor.pool.crash_report import CHANGED_FRAME_NOTE, CrashReport, describe_exit


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


TRACEBACK = ('Traceback (most recent call last):\n'
             '  File "/src/worker/engine/mood.py", line 12, in derive\n'
             '    return harmless()\n'
             '  File "/src/worker/engine/vitals.py", line 40, in level\n'
             '    raise ValueError("bad")\n'
             'ValueError: bad')


def test_a_report_of_code_changed_on_disk_says_so_in_its_summary() -> None:
    report = CrashReport("zen", 10, 2, 1, 0.3, error="ValueError: bad", code_root="/src",
                         code_changed=("worker/engine/mood.py",))
    assert report.summary == ("exit code 1: ValueError: bad [its code changed on disk since "
                              "it was loaded: worker/engine/mood.py]")


def test_traceback_frames_of_changed_files_are_marked_and_others_are_not() -> None:
    report = CrashReport("zen", 10, 2, 1, 0.3, traceback=TRACEBACK, code_root="/src",
                         code_changed=("worker/engine/mood.py",))
    lines = report.as_log_fields()["traceback"].split("\n")
    assert lines[1] == ('  File "/src/worker/engine/mood.py", line 12, in derive'
                        + CHANGED_FRAME_NOTE)
    assert lines[3] == '  File "/src/worker/engine/vitals.py", line 40, in level'
    assert report.as_log_fields()["code_changed_on_disk"] == ["worker/engine/mood.py"]


def test_a_report_of_unchanged_code_is_left_as_it_was() -> None:
    report = CrashReport("zen", 10, 2, 1, 0.3, traceback=TRACEBACK, code_root="/src")
    assert report.as_log_fields()["traceback"] == TRACEBACK
    assert "changed on disk" not in report.summary
