"""The command line of a generated file: write it, or check that the committed copy is current.

Both JSON Schemas in ``schemas/`` are derived from code (``protocol.schema_gen`` from the
message Structs, ``schemas.schema_gen`` from the ``Character`` model) and share
this one behaviour, so ``make`` and CI treat them alike.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def generated_file_main(
    argv: Sequence[str] | None, *, path: Path, render: Callable[[], str], command: str,
    description: str | None = None,
) -> int:
    """``command`` rewrites ``path`` with ``render()`` and returns 0; ``command --check``
    writes nothing and returns 0 when the file holds exactly that text, else 1 with a line
    on stderr saying what to run. Unknown arguments exit 2 with the usage (argparse)."""
    parser = argparse.ArgumentParser(prog=command, description=description)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed file is out of date"
    )
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date; run: {command}", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
