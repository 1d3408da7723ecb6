"""``greenroom lorebook import | list``: World Info books on their own.

Exit status: 0 when done, 1 when the book cannot be imported (``error [code]: message`` on
stderr), 2 for usage errors. Warnings (a setting greenroom does not act on, a key that
never matches) go to stderr as ``warning: file: field.path: …``.
"""

from __future__ import annotations

from pathlib import Path

import click

from runtime.settings import SettingsError, load_settings
from schemas.lorebook_files import (
    LorebookError,
    available_lorebooks,
    import_lorebook,
    lorebook_path,
    read_shared_lorebook,
)


def _characters_dir(ctx: click.Context) -> Path:
    directory = ctx.obj
    assert isinstance(directory, Path)  # set by the group callback below
    return directory


@click.group()
@click.option(
    "--characters-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of character files; shared books are in its lorebooks/ "
    "[env GREENROOM_CHARACTERS_DIR; default schemas/characters].",
)
@click.pass_context
def lorebook(ctx: click.Context, characters_dir: Path | None) -> None:
    """Import and list lorebooks (SillyTavern World Info)."""
    try:
        settings = load_settings({"characters_dir": characters_dir})
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    ctx.obj = settings.characters_dir


@lorebook.command("import")
@click.argument("book_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--character", "character_id", default=None,
              help="Attach the book to this character: appended to its file as a "
                   "lorebook: section.")
@click.option("--name", default=None,
              help="Name of the shared book (default: made from the file's name).")
@click.option("--force", is_flag=True, help="Replace a shared book of that name.")
@click.pass_context
def import_command(ctx: click.Context, book_file: Path, character_id: str | None,
                   name: str | None, force: bool) -> None:
    """Import a World Info file (SillyTavern JSON, lorebook_v3, a card's character_book,
    a card) as a shared book in lorebooks/, or into one character with --character."""
    if character_id is not None and name is not None:
        raise click.UsageError("--character attaches the book to one character; --name names"
                               " a shared book: give one of them")
    try:
        result = import_lorebook(book_file, _characters_dir(ctx), name=name,
                                 character_id=character_id, force=force)
    except LorebookError as exc:
        click.echo(f"error [{exc.code}]: {exc}", err=True)
        ctx.exit(1)
    for warning in result.warnings:
        click.echo(f"warning: {warning.render()}", err=True)
    count = len(result.book.entries)
    if result.character_id is not None:
        click.echo(f"attached {count} entries to character {result.character_id} → "
                   f"{result.path}")
    else:
        click.echo(f"imported {count} entries as shared lorebook {result.path.stem} → "
                   f"{result.path}\nuse it in a character file with: lorebooks: "
                   f"[{result.path.stem}]")


@lorebook.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """The shared books: name, entries, file."""
    directory = _characters_dir(ctx)
    names = available_lorebooks(directory)
    if not names:
        click.echo(f"no shared lorebooks in {directory / 'lorebooks'}")
        return
    failed = False
    for name in names:
        try:
            shared = read_shared_lorebook(lorebook_path(name, directory))
        except LorebookError as exc:
            click.echo(f"{name:<24} error [{exc.code}]: {exc}")
            failed = True
            continue
        click.echo(f"{name:<24} {len(shared.book.entries):>4} entries  {shared.path}")
    if failed:
        ctx.exit(1)
