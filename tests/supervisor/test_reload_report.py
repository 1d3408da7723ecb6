"""What ``greenroom reload`` prints and the exit code it returns."""

from __future__ import annotations

from protocol.admin import CharacterReloadInfo, ReloadResponse
from supervisor.commands.reload_report import render_reload


def test_a_successful_reload_lists_every_character_and_exits_0() -> None:
    text, code = render_reload(ReloadResponse(
        code_generation=2, code_reloaded=True, characters=[
            CharacterReloadInfo(character_id="m-playful", result="reloaded", generation=3),
            CharacterReloadInfo(character_id="zen", result="up_to_date", generation=1)]))
    assert code == 0
    assert text.splitlines() == ["code generation 2 loaded from disk",
                                 "  m-playful: reloaded (worker generation 3)",
                                 "  zen: up to date (worker generation 1)"]


def test_code_that_does_not_load_is_printed_with_its_traceback_and_exits_1() -> None:
    text, code = render_reload(ReloadResponse(
        success=False, code_generation=1, error="import worker.main: worker/x.py:3: "
        "SyntaxError: invalid syntax", traceback="Traceback (most recent call last):\n"
        "  File \"worker/x.py\", line 3\nSyntaxError: invalid syntax\n"))
    assert code == 1
    lines = text.splitlines()
    assert lines[0].startswith("reload failed: the code on disk does not load")
    assert lines[1] == "  import worker.main: worker/x.py:3: SyntaxError: invalid syntax"
    assert lines[-1] == "  SyntaxError: invalid syntax"


def test_an_invalid_character_file_exits_1_and_says_the_worker_was_left_running() -> None:
    text, code = render_reload(ReloadResponse(success=False, code_generation=1, characters=[
        CharacterReloadInfo(character_id="zen", result="invalid",
                            detail="CharacterFileError: zen.yaml: baseline_setpoint")]))
    assert code == 1
    assert "zen: NOT reloaded, its character file is invalid (the running worker is " \
           "untouched): CharacterFileError: zen.yaml: baseline_setpoint" in text


def test_changed_supervisor_files_are_named_with_what_to_do() -> None:
    text, code = render_reload(ReloadResponse(code_generation=1,
                                              supervisor_files=["supervisor/gateway/router.py"]))
    assert code == 0 and "restart `greenroom serve`" in text
    assert "supervisor/gateway/router.py" in text
