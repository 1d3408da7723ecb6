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
