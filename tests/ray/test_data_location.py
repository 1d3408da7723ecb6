"""Where a character's data must be before its Ray actor opens it (``worker.data_location``),
and how the cast words an actor's death: plain functions, no Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.pool.ray_cast import death_cause
from worker.data_location import (
    SHARED_MARKER,
    DataExpectation,
    data_problem,
    parse_pins,
    pin_of,
)


def test_an_unpinned_character_starts_where_the_shared_directory_has_the_deployment_marker(
    tmp_path: Path,
) -> None:
    (tmp_path / SHARED_MARKER).write_text("d1\n", encoding="utf-8")
    assert data_problem(DataExpectation("d1", False), tmp_path, "zen-master", "n1") is None


def test_a_node_without_the_shared_directory_is_refused_with_what_to_do(tmp_path: Path) -> None:
    problem = data_problem(DataExpectation("d1", False), tmp_path, "zen-master", "n2")
    assert problem is not None
    assert "'zen-master' cannot start on node n2" in problem
    assert "is missing" in problem and "GREENROOM_RAY_PINS" in problem


def test_another_deployments_directory_is_not_the_shared_one(tmp_path: Path) -> None:
    (tmp_path / SHARED_MARKER).write_text("d2\n", encoding="utf-8")
    problem = data_problem(DataExpectation("d1", False), tmp_path, "zen-master", "n1")
    assert problem is not None and "belongs to another deployment" in problem


def test_a_character_that_ran_before_is_refused_where_its_database_is_not(
    tmp_path: Path,
) -> None:
    problem = data_problem(DataExpectation(None, True), tmp_path, "zen-master", "n3")
    assert problem is not None and "would begin an empty history" in problem
    database = tmp_path / "characters" / "zen-master" / "character.db"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"")
    assert data_problem(DataExpectation(None, True), tmp_path, "zen-master", "n3") is None


def test_pins_name_a_label_value_per_character_with_a_default() -> None:
    pins = parse_pins("m-playful=east, *=west")
    assert pin_of("m-playful", pins) == "east"
    assert pin_of("zen-master", pins) == "west"
    assert pin_of("zen-master", parse_pins(None)) is None


def test_a_pin_that_is_not_id_equals_value_is_refused() -> None:
    with pytest.raises(ValueError, match="'m-playful' is not ID=VALUE"):
        parse_pins("m-playful")


def test_a_dead_actor_is_described_by_rays_exit_detail_first_sentence() -> None:
    text = ("The actor died unexpectedly before finishing this task.\n\tclass_name: X\n"
            "The actor is dead because its worker process has died. Worker exit type: "
            "SYSTEM_ERROR Worker exit detail: Worker unexpectedly exits with a connection "
            "error code 2. End of file. Some common causes include: (1) OOM")
    assert death_cause(text) == "Worker unexpectedly exits with a connection error code 2"
    assert death_cause("Something else happened.\nmore") == "Something else happened."
