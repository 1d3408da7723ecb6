"""Stamps of the code a fork server loaded: content counts, not timestamps; and the place
to fix first when that code does not load."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from supervisor.pool.code_fingerprint import CodeFingerprint, module_files
from supervisor.pool.preload_report import PreloadProblem, error_location
from supervisor.pool.staleness import name_files, stale_character, stale_code


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "worker" / "engine").mkdir(parents=True)
    (tmp_path / "worker" / "__init__.py").write_text("")
    (tmp_path / "worker" / "engine" / "mood.py").write_text("LEVEL = 1\n")
    (tmp_path / "worker" / "__pycache__").mkdir()
    (tmp_path / "worker" / "__pycache__" / "cached.py").write_text("")
    return tmp_path


def test_a_fingerprint_stamps_every_source_file_of_the_packages_but_caches(root: Path) -> None:
    fingerprint = CodeFingerprint.take(root, ("worker",))
    assert sorted(fingerprint.files) == ["worker/__init__.py", "worker/engine/mood.py"]
    assert fingerprint.changed() == ()


def test_an_edited_file_is_changed_and_a_touched_or_reverted_one_is_not(root: Path) -> None:
    mood = root / "worker" / "engine" / "mood.py"
    fingerprint = CodeFingerprint.take(root, ("worker",))
    os.utime(mood, ns=(1, 1))
    assert fingerprint.changed() == ()
    mood.write_text("LEVEL = 2\n")
    assert fingerprint.changed() == ("worker/engine/mood.py",)
    mood.write_text("LEVEL = 1\n")
    assert fingerprint.changed() == ()


def test_a_removed_file_is_changed(root: Path) -> None:
    fingerprint = CodeFingerprint.take(root, ("worker",))
    (root / "worker" / "engine" / "mood.py").unlink()
    assert fingerprint.changed() == ("worker/engine/mood.py",)


def test_the_disk_state_of_files_differs_exactly_when_one_changed(root: Path) -> None:
    fingerprint = CodeFingerprint.take(root, ("worker",))
    keys = ["worker/engine/mood.py"]
    first = fingerprint.disk_state(keys)
    assert fingerprint.disk_state(keys) == first
    (root / "worker" / "engine" / "mood.py").write_text("LEVEL = 3\n")
    assert fingerprint.disk_state(keys) != first


def test_the_project_modules_of_this_process_are_found_and_libraries_are_not() -> None:
    files = {path.name for path in module_files(sys.modules)}
    assert "code_fingerprint.py" in files and "__init__.py" in files
    assert "pytest" not in {path.parent.name for path in module_files(sys.modules)}


def test_a_syntax_error_is_located_at_its_own_line(root: Path) -> None:
    source = root / "worker" / "broken.py"
    source.write_text("x = 1\ndef broken(:\n")
    with pytest.raises(SyntaxError) as caught:
        compile(source.read_text(), str(source), "exec")
    assert error_location(caught.value, root) == "worker/broken.py:2"
    problem = PreloadProblem.from_exception("import worker.broken", caught.value, root)
    assert problem.summary.startswith("import worker.broken: worker/broken.py:2: SyntaxError")
    assert problem.traceback is not None and "SyntaxError" in problem.traceback


def test_an_error_raised_in_a_library_is_located_at_the_project_line_that_called_it() -> None:
    here = Path(__file__).resolve()
    root = here.parents[2]
    try:
        int("not a number")
    except ValueError as error:
        location = error_location(error, root)
    assert location is not None
    assert location.startswith(here.relative_to(root).as_posix() + ":")


def test_stale_notes_name_the_files_and_what_failed() -> None:
    assert name_files(["a.py", "b.py", "c.py", "d.py", "e.py"]) == "a.py, b.py, c.py (+2 more)"
    assert stale_code([], 1, None) is None
    assert stale_code(["a.py"], 2, "a.py:3: SyntaxError") == (
        "code generation 2 is stale: a.py changed on disk; the new code failed: "
        "a.py:3: SyntaxError")
    assert "not reloaded yet" in (stale_code(["a.py"], 2, None) or "")
    assert stale_character(False, "bad") is None
    assert "not reloaded: bad" in (stale_character(True, "bad") or "")
