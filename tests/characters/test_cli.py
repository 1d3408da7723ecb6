"""`greenroom characters …` through click's CliRunner, against real files."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner, Result
from PIL import Image

from schemas.loader import load_character
from supervisor.cli import main
from tests.characters.cards_factory import card_text, v2_card, write_json, write_png
from tests.characters.conftest import WriteCharacter
from tests.characters.test_validation_messages import FIVE_MISTAKES
from tests.support.paths import BUNDLED_CHARACTERS


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["characters", *args], catch_exceptions=False)


def test_list_shows_id_name_archetype_and_description() -> None:
    result = run("--characters-dir", str(BUNDLED_CHARACTERS), "list")
    assert result.exit_code == 0
    header, *rows = result.output.splitlines()
    assert header.split() == ["ID", "NAME", "ARCHETYPE", "DESCRIPTION"]
    m_playful = next(r for r in rows if r.startswith("m-playful "))
    assert "playful" in m_playful and "Okafor" in m_playful and "food-truck" in m_playful


def test_list_json_is_machine_readable() -> None:
    result = run("--characters-dir", str(BUNDLED_CHARACTERS), "list", "--json")
    entries = json.loads(result.stdout)
    assert {e["id"] for e in entries} >= {"m-playful", "zen-master"}
    assert all(e["ok"] for e in entries)


def test_list_marks_a_broken_file_and_exits_non_zero(write_character: WriteCharacter,
                                                     characters_dir: Path) -> None:
    write_character("good", "name: G\narchetype: t\n")
    write_character("broken", FIVE_MISTAKES)
    result = run("--characters-dir", str(characters_dir), "list")
    assert result.exit_code == 1
    assert "INVALID: 5 error(s)" in result.output


def test_list_uses_the_directory_from_the_environment(write_character: WriteCharacter,
                                                      characters_dir: Path) -> None:
    write_character("from-env", "name: Env\narchetype: t\n")
    result = CliRunner(env={"GREENROOM_CHARACTERS_DIR": str(characters_dir)}).invoke(
        main, ["characters", "list"])
    assert "from-env" in result.output


def test_show_prints_the_normalised_character_as_yaml() -> None:
    result = run("--characters-dir", str(BUNDLED_CHARACTERS), "show", "m-playful")
    assert result.exit_code == 0
    shown = yaml.safe_load(result.stdout)
    assert shown["id"] == "m-playful"
    assert shown["dialect"] == "b"
    assert shown["neurochemistry"]["sensitivities"]["oxytocin"] == 1.4
    assert shown["goals"][2]["goal_type"] == "hidden"


def test_show_json_prints_json() -> None:
    result = run("--characters-dir", str(BUNDLED_CHARACTERS), "show", "ada-lovelace", "--json")
    shown = json.loads(result.stdout)
    assert shown["created_date"] == "2025-01-01"
    assert shown["neurochemistry"]["baseline"]["dopamine"] == 75


def test_show_refuses_an_invalid_id_with_its_code() -> None:
    result = CliRunner().invoke(
        main, ["characters", "--characters-dir", str(BUNDLED_CHARACTERS), "show", "Bad_ID"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error [invalid-character-id]: invalid character id 'Bad_ID'")


def test_show_unknown_id_says_not_found() -> None:
    result = CliRunner().invoke(
        main, ["characters", "--characters-dir", str(BUNDLED_CHARACTERS), "show", "nobody"])
    assert result.exit_code == 1
    assert "error [character-not-found]" in result.stderr


def test_validate_without_arguments_passes_every_bundled_character() -> None:
    result = run("--characters-dir", str(BUNDLED_CHARACTERS), "validate")
    assert result.exit_code == 0, result.output
    assert "0 failed, 0 warning(s)" in result.output


def test_validate_failing_file_prints_each_problem_and_exits_non_zero(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    path = write_character("five", FIVE_MISTAKES)
    result = run("--characters-dir", str(characters_dir), "validate", "five")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 5
    assert f"error: {path}: personality.big_five.openness: expected a number from 0 to 1, " \
           "found 1.5" in errors
    assert "FAIL five: 5 error(s), 0 warning(s)" in result.output


def test_validate_accepts_a_path(tmp_path: Path) -> None:
    path = tmp_path / "by-path.yaml"
    path.write_text("name: P\narchetype: t\n", encoding="utf-8")
    result = run("--characters-dir", str(BUNDLED_CHARACTERS), "validate", str(path))
    assert result.exit_code == 0
    assert "ok   by-path" in result.output


def test_validate_prints_warnings_but_passes_unless_strict(write_character: WriteCharacter,
                                                           characters_dir: Path) -> None:
    write_character("w", "name: W\narchetype: t\nmystery: 1\n")
    relaxed = run("--characters-dir", str(characters_dir), "validate", "w")
    strict = run("--characters-dir", str(characters_dir), "validate", "--strict", "w")
    assert relaxed.exit_code == 0
    assert "warning: " in relaxed.output and "mystery: unknown field" in relaxed.output
    assert strict.exit_code == 1


def test_import_writes_a_loadable_character(tmp_path: Path, characters_dir: Path) -> None:
    png = write_png(tmp_path / "card.png", {"chara": card_text(v2_card())})
    result = run("--characters-dir", str(characters_dir), "import", str(png), "--id", "mirela")
    assert result.exit_code == 0, result.output
    assert "imported 'Captain Mirela Voss' as mirela" in result.output
    shown = run("--characters-dir", str(characters_dir), "show", "mirela")
    assert "first_message:" in shown.output


def test_import_refuses_to_overwrite_without_force(tmp_path: Path,
                                                   characters_dir: Path) -> None:
    card = write_json(tmp_path / "card.json", v2_card())
    run("--characters-dir", str(characters_dir), "import", str(card), "--id", "mirela")
    again = CliRunner().invoke(
        main, ["characters", "--characters-dir", str(characters_dir), "import", str(card),
               "--id", "mirela"])
    assert again.exit_code == 1
    assert again.stderr.startswith("error [card-id-exists]: character 'mirela' already exists")
    forced = run("--characters-dir", str(characters_dir), "import", str(card), "--id", "mirela",
                 "--force")
    assert forced.exit_code == 0


def test_import_of_a_corrupt_card_fails_and_writes_nothing(tmp_path: Path,
                                                          characters_dir: Path) -> None:
    bogus = tmp_path / "bogus.png"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    result = CliRunner().invoke(
        main, ["characters", "--characters-dir", str(characters_dir), "import", str(bogus)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error [card-png-corrupt]: ")
    assert list(characters_dir.iterdir()) == []


def test_export_writes_a_card_png_that_imports_back_as_the_same_character(
        tmp_path: Path, characters_dir: Path) -> None:
    out = tmp_path / "zen.png"
    result = run("--characters-dir", str(BUNDLED_CHARACTERS), "export", "zen-master",
                 "--format", "v3", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == f"exported zen-master as {out}\n"
    assert out.read_bytes().startswith(b"\x89PNG")
    imported = run("--characters-dir", str(characters_dir), "import", str(out))
    assert imported.exit_code == 0, imported.output
    assert (load_character("zen-master", characters_dir).character
            == load_character("zen-master", BUNDLED_CHARACTERS).character)


def test_export_to_json_and_with_a_jpeg_picture(tmp_path: Path) -> None:
    card = tmp_path / "toby.json"
    assert run("--characters-dir", str(BUNDLED_CHARACTERS), "export", "m-playful",
               "-o", str(card)).exit_code == 0
    document = json.loads(card.read_text(encoding="utf-8"))
    assert document["spec"] == "chara_card_v2"
    assert document["data"]["extensions"]["greenroom"]["id"] == "m-playful"
    jpeg = tmp_path / "face.jpg"
    Image.new("RGB", (30, 45), (10, 90, 200)).save(jpeg, format="JPEG")
    png = tmp_path / "toby.png"
    assert run("--characters-dir", str(BUNDLED_CHARACTERS), "export", "m-playful",
               "--png", str(jpeg), "-o", str(png)).exit_code == 0
    with Image.open(png) as picture:
        assert picture.size == (30, 45)
        assert "chara" in picture.text  # type: ignore[attr-defined]


def test_export_of_an_unknown_character_is_a_clear_error() -> None:
    result = run("--characters-dir", str(BUNDLED_CHARACTERS), "export", "nobody")
    assert result.exit_code == 1
    assert "error [" in result.stderr and "nobody" in result.stderr
