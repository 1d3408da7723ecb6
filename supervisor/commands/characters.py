"""``greenroom characters list | show | validate | import | export``.

Exit status: 0 when everything asked for is fine, 1 when a character or card has errors
(or cannot be found), 2 for usage errors (click's own). Errors go to stderr as
``error [code]: message``; ``validate`` prints each problem as
``file: field.path: what was expected, what was found``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.atomic_file import write_atomically
from runtime.settings import SettingsError, load_settings
from schemas.card_export import CardFormat, card_file
from schemas.card_import import import_card
from schemas.card_png import as_png
from schemas.cards import CardImportError
from schemas.loader import CHARACTER_SUFFIX, available_ids, list_characters, load_character
from schemas.normalised import to_normalised_dict, to_yaml
from schemas.problems import CharacterError, CharacterFileError, Problem

_YAML_SUFFIXES = (".yaml", ".yml")


def _characters_dir(ctx: click.Context) -> Path:
    directory = ctx.obj
    assert isinstance(directory, Path)  # set by the group callback below
    return directory


def _fail(error: CharacterError) -> None:
    click.echo(f"error [{error.code}]: {error}", err=True)


def _target(arg: str) -> str | Path:
    """An argument names a file if it looks like one, otherwise it is an id."""
    if arg.endswith(_YAML_SUFFIXES) or "/" in arg or Path(arg).is_file():
        return Path(arg)
    return arg


@click.group()
@click.option(
    "--characters-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of character files [env GREENROOM_CHARACTERS_DIR; "
    "default schemas/characters].",
)
@click.pass_context
def characters(ctx: click.Context, characters_dir: Path | None) -> None:
    """List, show, validate, import and export characters."""
    try:
        settings = load_settings({"characters_dir": characters_dir})
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    ctx.obj = settings.characters_dir


@characters.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Every character: id, name, archetype and a one-line description."""
    summaries = list_characters(_characters_dir(ctx))
    if as_json:
        click.echo(json.dumps([
            {"id": s.id, "name": s.name, "archetype": s.archetype,
             "description": s.description, "ok": s.ok,
             "errors": [p.render() for p in s.errors]}
            for s in summaries
        ], indent=2, ensure_ascii=False))
    else:
        rows = [
            (s.id, s.name or "-", s.archetype or "-",
             s.description if s.ok else
             f"INVALID: {len(s.errors)} error(s), see `greenroom characters validate {s.id}`")
            for s in summaries
        ]
        widths = [max([len(h)] + [len(r[i]) for r in rows])
                  for i, h in enumerate(("ID", "NAME", "ARCHETYPE"))]
        header = ("ID", "NAME", "ARCHETYPE", "DESCRIPTION")
        for row in [header, *rows]:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:3])]
            click.echo("  ".join([*cells, row[3]]).rstrip())
        if not summaries:
            click.echo(f"(no *{CHARACTER_SUFFIX} files in {_characters_dir(ctx)})", err=True)
    if any(not s.ok for s in summaries):
        ctx.exit(1)


@characters.command("show")
@click.argument("character")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@click.pass_context
def show_command(ctx: click.Context, character: str, as_json: bool) -> None:
    """Print CHARACTER (an id or a file) in the normalised form every dialect loads into."""
    try:
        loaded = load_character(_target(character), _characters_dir(ctx))
    except CharacterError as exc:
        _fail(exc)
        ctx.exit(1)
    if as_json:
        click.echo(json.dumps(to_normalised_dict(loaded.character), indent=2,
                              ensure_ascii=False, default=str))
    else:
        click.echo(to_yaml(loaded.character), nl=False)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning.render()}", err=True)


@characters.command("validate")
@click.argument("targets", nargs=-1)
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. unknown fields) as errors.")
@click.pass_context
def validate_command(ctx: click.Context, targets: tuple[str, ...], strict: bool) -> None:
    """Check characters (ids or files; default: every file in the characters directory).

    Prints every problem as `file: field.path: what was expected, what was found`.
    """
    directory = _characters_dir(ctx)
    names: list[str | Path] = [_target(t) for t in targets] or list(available_ids(directory))
    if not targets:
        # Files whose names are not ids cannot be loaded by id; check them by path so
        # they are reported rather than skipped.
        names += [p for p in sorted(directory.glob(f"*{CHARACTER_SUFFIX}"))
                  if p.stem not in names]
    failed = 0
    warned = 0
    for name in names:
        problems: list[Problem]
        label = name if isinstance(name, str) else name.stem
        try:
            loaded = load_character(name, directory)
            problems = loaded.warnings
            label = loaded.character.id
        except CharacterFileError as exc:
            problems = exc.problems
        except CharacterError as exc:
            _fail(exc)
            failed += 1
            continue
        for problem in problems:
            click.echo(f"{problem.severity}: {problem.render()}")
        errors = sum(p.is_error for p in problems)
        warnings = len(problems) - errors
        warned += warnings
        if errors or (strict and warnings):
            failed += 1
            click.echo(f"FAIL {label}: {errors} error(s), {warnings} warning(s)")
        else:
            click.echo(f"ok   {label}" + (f" ({warnings} warning(s))" if warnings else ""))
    click.echo(f"{len(names)} checked, {len(names) - failed} ok, {failed} failed, "
               f"{warned} warning(s)")
    if failed or not names:
        ctx.exit(1)


@characters.command("import")
@click.argument("card", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--id", "character_id", default=None,
              help="Id for the new character (default: made from the card's name).")
@click.option("--force", is_flag=True, help="Replace an existing character with this id.")
@click.pass_context
def import_command(
    ctx: click.Context, card: Path, character_id: str | None, force: bool
) -> None:
    """Import a Character Card V2/V3 (JSON, or PNG with a 'chara'/'ccv3' chunk)."""
    try:
        result = import_card(card, _characters_dir(ctx), character_id=character_id, force=force)
    except CardImportError as exc:
        _fail(exc)
        ctx.exit(1)
    for warning in result.warnings:
        click.echo(f"warning: {warning.render()}", err=True)
    click.echo(f"imported {result.character.name!r} as {result.character.id} → {result.path}")


@characters.command("export")
@click.argument("character")
@click.option("--format", "card_format", type=click.Choice(["v2", "v3"]), default=None,
              help="Character Card version (default: v3 for a character imported from a V3 "
                   "card, else v2). A v3 PNG carries both the V2 and the V3 card.")
@click.option("--png", "picture", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="The card's picture (PNG, JPEG, WebP…; default: a plain "
                                 "one with the character's initials).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the card (default ./ID.png); a name ending in .json "
                   "writes the card's JSON instead of a PNG.")
@click.pass_context
def export_command(ctx: click.Context, character: str, card_format: CardFormat | None,
                   picture: Path | None, output: Path | None) -> None:
    """Write CHARACTER as a Character Card that SillyTavern imports.

    Greenroom's own fields (vitals baselines, sensitivities, goals, …) go under
    data.extensions.greenroom, so `greenroom characters import` gives the same character back.
    The card's character_book carries the character's lorebook: section and the shared
    lorebooks it names, so they trigger in SillyTavern too.
    """
    try:
        loaded = load_character(_target(character), _characters_dir(ctx))
    except CharacterError as exc:
        _fail(exc)
        ctx.exit(1)
    target = output or Path(f"{loaded.character.id}.png")
    try:
        image = as_png(picture.read_bytes(), str(picture)) if picture is not None else None
        content = card_file(loaded.character, card_format, picture=image,
                            as_json=target.suffix.lower() == ".json",
                            shared=loaded.shared_lorebooks)
        write_atomically(target, content)
    except CardImportError as exc:
        _fail(exc)
        ctx.exit(1)
    except OSError as exc:
        click.echo(f"error [card-unwritable]: cannot write {target} ({exc.strerror})", err=True)
        ctx.exit(1)
    click.echo(f"exported {loaded.character.id} as {target}")
