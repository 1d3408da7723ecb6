"""What ``greenroom reload`` prints: one line per character, the code's problem in full.

Pure: a ``ReloadResponse`` in, text and the exit code out (0: everything asked for runs what
is on disk; 1: the code failed to load, or a character was refused or did not start).
"""

from __future__ import annotations

from protocol.admin import CharacterReloadInfo, ReloadResponse

RESULT_WORDS = {
    "reloaded": "reloaded",
    "up_to_date": "up to date",
    "invalid": "NOT reloaded, its character file is invalid (the running worker is untouched)",
    "failed": "FAILED to start on the new code",
    "not_running": "not running (it starts from the newest code when first used)",
}


def _line(character: CharacterReloadInfo) -> str:
    text = f"  {character.character_id}: {RESULT_WORDS[character.result]}"
    if character.result in ("reloaded", "up_to_date") and character.generation is not None:
        text += f" (worker generation {character.generation})"
    if character.detail:
        text += f": {character.detail}"
    return text


def render_reload(response: ReloadResponse) -> tuple[str, int]:
    """The report (no trailing newline) and the exit code."""
    lines: list[str] = []
    if response.error is not None:
        lines.append(f"reload failed: the code on disk does not load; every worker keeps "
                     f"running code generation {response.code_generation}")
        lines.append(f"  {response.error}")
        if response.traceback:
            lines.extend(f"  {line}" for line in response.traceback.rstrip("\n").split("\n"))
    else:
        if response.code_reloaded:
            lines.append(f"code generation {response.code_generation} loaded from disk")
        else:
            lines.append(f"code generation {response.code_generation} is current")
        lines.extend(_line(character) for character in response.characters)
        if not response.characters:
            lines.append("  no workers to reload (start some with `greenroom serve -c ID`)")
    if response.supervisor_files:
        lines.append("note: these changed files run in the supervisor itself; restart "
                     "`greenroom serve` to use them: " + ", ".join(response.supervisor_files))
    return "\n".join(lines), 0 if response.success else 1
