"""``greenroom chat`` as a real process, without a server: local mode, fallback, scripts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli_process import clean_env, greenroom_argv
from tests.support.paths import REPO_ROOT
from tests.support.ports import closed_port

pytestmark = pytest.mark.process

TIMEOUT_S = 60


def run_chat(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        greenroom_argv("chat", *args), input=stdin, capture_output=True, text=True,
        env=clean_env(data_dir), cwd=REPO_ROOT, timeout=TIMEOUT_S, check=False,
    )


def test_message_prints_only_the_reply_and_exits_zero(tmp_path: Path) -> None:
    result = run_chat(tmp_path, "--local", "-c", "m-playful", "--message", "Hello!")
    assert result.returncode == 0, result.stderr
    assert "Okafor" in result.stdout
    assert result.stdout.count("\n") == 1


def test_message_to_an_unknown_character_fails_with_its_code(tmp_path: Path) -> None:
    result = run_chat(tmp_path, "--local", "-c", "nobody", "--message", "Hello!")
    assert result.returncode == 1
    assert "[character_not_found]" in result.stderr


def test_no_server_falls_back_to_local_with_a_notice(tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{closed_port()}"
    result = run_chat(tmp_path, "--server-url", url, "-c", "m-playful", "-m", "Hi there")
    assert result.returncode == 0, result.stderr
    assert f"no server at {url} — falling back to LOCAL mode" in result.stderr
    assert "Okafor" in result.stdout


def test_no_fallback_exits_non_zero_and_says_why(tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{closed_port()}"
    result = run_chat(tmp_path, "--server-url", url, "--no-fallback", "-c", "m-playful",
                      "-m", "Hi there")
    assert result.returncode == 2
    assert "[connection_failed]" in result.stderr and url in result.stderr
    assert "--no-fallback" in result.stderr
    assert result.stdout == ""


def test_without_a_tty_the_chat_reads_lines_and_prints_plain_text(tmp_path: Path) -> None:
    script = 'Hello! I love hiking.\n/memory hiking\n"""\nline one\nline two\n"""\n/quit\n'
    result = run_chat(tmp_path, "--local", "-c", "m-playful", "--user", "ann", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout
    assert "talking to Tobias" in result.stdout
    assert "1. Ann loves hiking" in result.stdout and "(score " in result.stdout
    assert result.stdout.count('Tobias "Toby" Okafor: ') == 2


def test_no_vitals_is_plain_chat(tmp_path: Path) -> None:
    result = run_chat(tmp_path, "--local", "--no-vitals", "-c", "m-playful", stdin="Hi\n")
    assert result.returncode == 0, result.stderr
    assert "[vitals" not in result.stdout and "Okafor: " in result.stdout


def test_without_a_character_the_list_is_offered_and_a_number_picks(tmp_path: Path) -> None:
    result = run_chat(tmp_path, "--local", "--no-vitals", stdin="1\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "pick a character" in result.stdout
    assert "talking to Ada Lovelace" in result.stdout


def test_contradictory_options_are_a_usage_error(tmp_path: Path) -> None:
    result = run_chat(tmp_path, "--local", "--no-fallback", "-c", "m-playful")
    assert result.returncode == 2
    assert "contradict" in result.stderr
