"""`greenroom serve` refuses unsafe or half-given network settings before serving anyone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

CLI = "from supervisor.cli import main; main()"


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, "serve", "--port", "0", "--data-dir", str(tmp_path),
         "--log-format", "json", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


def test_tls_cert_without_key_refuses_to_start(tmp_path: Path) -> None:
    result = serve(tmp_path, "--tls-cert", str(tmp_path / "cert.pem"))
    assert result.returncode != 0
    assert "TLS needs both --tls-cert and --tls-key" in result.stderr


def test_non_loopback_bind_without_token_refuses_to_start(tmp_path: Path) -> None:
    result = serve(tmp_path, "--host", "0.0.0.0")
    assert result.returncode != 0
    assert "without a token" in result.stderr and "--insecure" in result.stderr


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("greenroom: cannot start: cannot open the log file "), line
    assert reason in line and "give a writable --data-dir" in line, line


def test_a_data_dir_under_a_file_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    result = serve(tmp_path / "a-file" / "data")
    assert_refused_in_one_line(result, "Not a directory")


def test_a_read_only_data_dir_refuses_to_start_in_one_line(
    tmp_path: Path, immutable: list[Path]
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    assert subprocess.run(["chattr", "+i", str(data_dir)], check=False).returncode == 0
    immutable.append(data_dir)
    result = serve(data_dir)
    assert_refused_in_one_line(result, "Operation not permitted")


def test_an_allowed_origin_that_is_no_origin_refuses_to_start_in_one_line(
    tmp_path: Path,
) -> None:
    result = serve(tmp_path, "--allowed-origin", "localhost:3000")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("greenroom:")]
    assert line.startswith("greenroom: cannot start the gateway: --allowed-origin "
                           "'localhost:3000' is not scheme://host[:port]"), line
