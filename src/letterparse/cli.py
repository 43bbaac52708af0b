"""The command line: each command parses its arguments, calls one library
function and prints.  JSON goes to stdout, messages to stderr; typed errors
become ``Error: ...`` and exit code 1, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import LetterparseError

app = typer.Typer(
    name="letterparse",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Turn Ofsted children's-services inspection letters and reports into structured data.",
)


@app.callback()
def _main() -> None:
    """Turn Ofsted children's-services inspection letters and reports into structured data."""


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


BackendOpt = Annotated[str, typer.Option("--backend", "-b", help="PDF backend: pdfium (fast, default) or plumber.")]


@app.command()
def extract(
    files: Annotated[list[Path], typer.Argument(help="PDF or .txt files.", show_default=False)],
    backend: BackendOpt = "pdfium",
    themes: Annotated[bool, typer.Option("--themes/--no-themes", help="Classify findings into themes.")] = True,
    explain: Annotated[bool, typer.Option("--explain", help="Add the terms behind each theme and the scores of unassigned themes.")] = False,
    compact: Annotated[bool, typer.Option("--compact", help="One line per document (JSON Lines) even for one file.")] = False,
    max_pages: Annotated[int, typer.Option(help="Refuse PDFs with more pages than this.")] = 500,
) -> None:
    """Parse files and print JSON: one object for one file, JSON Lines for several.

    Example: letterparse extract letter.pdf > letter.json
    """
    from .io import dumps
    from .pipeline import parse

    failed = 0
    one = len(files) == 1 and not compact
    for f in files:
        try:
            letter = parse(f, backend=backend, themes=themes, max_pages=max_pages)
            if explain:
                from .classify import explain_letter

                d = explain_letter(letter)
            else:
                d = letter.to_dict()
        except LetterparseError as exc:
            typer.echo(f"Error: {exc}", err=True)
            failed += 1
            continue
        except ValueError as exc:
            _fail(str(exc))
        sys.stdout.write(dumps(d, indent=2 if one else None) + "\n")
    if failed:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover
    app()
