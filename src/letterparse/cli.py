"""The command line: each command parses its arguments, calls one library
function and prints.  JSON goes to stdout, messages to stderr; typed errors
become ``Error: ...`` and exit code 1, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import Interrupted, LetterparseError
from .extract import DEFAULT_MAX_BYTES, DEFAULT_MAX_PAGES  # constants only: no PDF library is imported

app = typer.Typer(
    name="letterparse",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Turn Ofsted children's-services inspection letters and reports into structured data.",
)


def _version(value: bool) -> None:
    if value:
        from . import PARSER_VERSION, __version__

        typer.echo(f"letterparse {__version__} (parser {PARSER_VERSION})")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Turn Ofsted children's-services inspection letters and reports into structured data."""


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def _reported(out: str, make) -> None:
    """Run ``make`` (which writes a table to ``out`` and returns it); typed errors and
    unwritable outputs become one ``Error:`` line, and the row count goes to stderr."""
    try:
        table = make()
    except (LetterparseError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {exc.filename or out}: {exc.strerror or exc}")
    if out != "-":
        typer.echo(f"{len(table)} rows -> {out}", err=True)


BackendOpt = Annotated[str, typer.Option("--backend", "-b", help="PDF backend: pdfium (fast, default) or plumber.")]
MaxPagesOpt = Annotated[int, typer.Option("--max-pages", min=1, help="Refuse documents with more pages than this (PDF pages, or form-feed separated parts of a text file).")]
MaxBytesOpt = Annotated[int, typer.Option("--max-bytes", min=1, help="Refuse files larger than this many bytes.")]
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(text: str) -> int:
    """``2G``, ``512M``, ``1.5g``, ``2GB``, ``2GiB`` or bytes -> bytes; ``0`` is 0."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise typer.BadParameter(f"{text!r} is not a size; give e.g. 2G, 512M or a number of bytes")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


MaxMemoryOpt = Annotated[int, typer.Option(
    "--max-memory", parser=_size, metavar="SIZE",
    help="Memory each parsing process may use (e.g. 2G, 512M; 0: no cap). A file that needs more is refused as too_large.",
)]


@app.command()
def extract(
    files: Annotated[list[Path], typer.Argument(help="PDF or .txt files.", show_default=False)],
    backend: BackendOpt = "pdfium",
    themes: Annotated[bool, typer.Option("--themes/--no-themes", help="Classify findings into themes.")] = True,
    explain: Annotated[bool, typer.Option("--explain", help="Add, for each theme, the words and phrases of the finding that drove it, and every theme's score.")] = False,
    compact: Annotated[bool, typer.Option("--compact", help="One line per document (JSON Lines) even for one file.")] = False,
    max_pages: MaxPagesOpt = DEFAULT_MAX_PAGES,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    max_memory: MaxMemoryOpt = "2G",
) -> None:
    """Parse files and print JSON: one object for one file, JSON Lines for several.
    The parsing runs in a child process under the memory cap.

    Example: letterparse extract letter.pdf > letter.json
    """
    from .batch import Failed, parse_isolated
    from .io import dumps

    try:
        outcomes = parse_isolated(
            files, backend=backend, themes=themes, max_pages=max_pages, max_bytes=max_bytes, max_memory=max_memory or None,
        )
    except (LetterparseError, ValueError) as exc:
        _fail(str(exc))
    failed = 0
    one = len(files) == 1 and not compact
    for f, outcome in zip(files, outcomes):
        try:
            if isinstance(outcome, Failed):
                typer.echo(f"Error: {f}: {outcome.message}", err=True)
                failed += 1
                continue
            if explain:
                from .themes import explain_letter

                d = explain_letter(outcome.letter)
            else:
                d = outcome.letter.to_dict()
        except LetterparseError as exc:
            typer.echo(f"Error: {exc}", err=True)
            failed += 1
            continue
        except ValueError as exc:
            _fail(str(exc))
        sys.stdout.write(dumps(d, indent=2 if one else None) + "\n")
    if failed:
        raise typer.Exit(1)


def _checkout(rel: str) -> Path:
    """A path of the source checkout (``corpora/gold``, ``../shared/corpus``), found from
    the package rather than the working directory, so commands work from anywhere."""
    return (Path(__file__).resolve().parents[2] / rel).resolve()


@app.command()
def evaluate(
    gold: Annotated[Optional[Path], typer.Option(help="Folder of gold JSON files [default: the checkout's corpora/gold].")] = None,
    corpus: Annotated[Optional[Path], typer.Option(help="Folder with the PDFs (and manifest.csv) [default: ../shared/corpus beside the checkout].")] = None,
    backend: BackendOpt = "pdfium",
    split: Annotated[Optional[str], typer.Option(help="Only gold of this split: dev, heldout or unseen.")] = None,
    themes: Annotated[bool, typer.Option("--themes", help="Evaluate the theme model by grouped cross-validation instead.")] = False,
    details: Annotated[bool, typer.Option("--details", help="Also print each document's errors (JSON Lines on stderr).")] = False,
) -> None:
    """Score parsing against hand-checked gold: section F1, finding F1, metadata accuracy.

    Example: letterparse evaluate --corpus ../shared/corpus
    """
    import json

    gold = gold or _checkout("corpora/gold")
    corpus = corpus or _checkout("../shared/corpus")
    if themes:
        from .train import evaluate_themes_cli

        evaluate_themes_cli(corpus, _checkout("corpora/labels/heldout"))
        return
    if not gold.is_dir():
        _fail(f"{gold}: no such gold folder")
    if not corpus.is_dir():
        _fail(f"{corpus}: no such corpus folder")
    from .evaluate import evaluate as run

    try:
        report = run(gold, corpus, backend=backend, subset=split)
    except (LetterparseError, ValueError) as exc:
        _fail(str(exc))
    r = report.to_dict()
    typer.echo(f"documents        {r['documents']}")
    typer.echo(f"section F1       {r['section']['f1']:.3f}  (P {r['section']['precision']:.3f}, R {r['section']['recall']:.3f})")
    typer.echo(f"finding F1       {r['finding']['f1']:.3f}  (P {r['finding']['precision']:.3f}, R {r['finding']['recall']:.3f})")
    typer.echo(f"metadata         {r['metadata_accuracy']:.3f}  " + ", ".join(f"{k} {v:.2f}" for k, v in r["metadata_by_field"].items()))
    if details:
        for row in report.per_document:
            if row["sections"]["fp"] or row["sections"]["fn"] or row["findings"]["fp"] or row["findings"]["fn"] or row["metadata_wrong"]:
                typer.echo(json.dumps(row), err=True)


# --- batch, compare, fetch: see below ---------------------------------------------


@app.command()
def batch(
    inputs: Annotated[list[Path], typer.Argument(help="PDF/.txt files or folders (searched recursively).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Store: *.duckdb (default), *.jsonl or a Parquet folder.")],
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: CPU count).")] = None,
    backend: BackendOpt = "pdfium",
    themes: Annotated[bool, typer.Option("--themes/--no-themes", help="Classify findings into themes.")] = True,
    resume: Annotated[bool, typer.Option("--resume", help="Skip files already parsed with this parser and model version.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="If another run is writing the store, wait for it instead of stopping.")] = False,
    engine: Annotated[str, typer.Option(help="local (process pool) or dask.")] = "local",
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address (default: a local cluster).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds allowed per file.")] = 120.0,
    max_pages: MaxPagesOpt = DEFAULT_MAX_PAGES,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    follow_links: Annotated[bool, typer.Option("--follow-links", help="Follow links in the folders whose target is outside the folder (not followed by default: recorded as link_outside).")] = False,
    max_memory: MaxMemoryOpt = "2G",
) -> None:
    """Parse many files into a store; bad files go to its errors table and the exit code is 1.

    Example: letterparse batch ../shared/corpus --out letters.duckdb --workers 4
    """
    from .batch import run_batch

    try:
        result = run_batch(
            inputs, out, workers=workers, backend=backend, themes=themes, resume=resume,
            engine=engine, scheduler=scheduler, timeout=timeout, max_pages=max_pages, max_bytes=max_bytes, wait=wait,
            follow_links=follow_links, max_memory=max_memory or None,
        )
    except Interrupted as exc:
        typer.echo(f"Stopped: {exc}", err=True)
        raise typer.Exit(130)
    except (LetterparseError, ValueError) as exc:
        _fail(str(exc))
    except ImportError as exc:
        _fail(f"{exc}; install the extra: pip install 'letterparse[dask]'")
    typer.echo(result.summary(), err=True)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def compare(
    store: Annotated[Path, typer.Argument(help="A store written by `letterparse batch`.", show_default=False)],
    out: Annotated[str, typer.Option("--out", "-o", help="Table: FILE.csv, FILE.md, FILE.json, or - for stdout.")] = "-",
    fmt: Annotated[Optional[str], typer.Option("--format", help="csv, md or json (default: from --out; csv for -).")] = None,
    by: Annotated[Optional[list[str]], typer.Option("--by", help="Group by authority, region, family, framework, year, grade (repeat; default authority and year, or year with --authority).")] = None,
    all_findings: Annotated[bool, typer.Option("--all-findings", help="Count every finding, not only judgement findings.")] = False,
    unit: Annotated[str, typer.Option("--unit", help="What to count: finding, or sentence (each sentence of a prose finding with its own polarity and themes; list bullets have none and are not counted).")] = "finding",
    family: Annotated[Optional[list[str]], typer.Option("--family", help="Only this document family (repeat).")] = None,
    framework: Annotated[Optional[list[str]], typer.Option("--framework", help="Only this inspection framework (repeat).")] = None,
    region: Annotated[Optional[str], typer.Option(help="Only this region.")] = None,
    theme: Annotated[Optional[str], typer.Option(help="Only this theme's rows (shares keep their denominators).")] = None,
    polarity: Annotated[Optional[str], typer.Option(help="Only this polarity (strength, satisfactory, weakness, priority, neutral).")] = None,
    authority: Annotated[Optional[str], typer.Option(help="Only this authority (name or ONS code).")] = None,
    vs: Annotated[Optional[list[str]], typer.Option("--vs", help="With --authority, add rows for its neighbours, region or england (repeat).")] = None,
    min_n: Annotated[int, typer.Option("--min-n", min=0, help="Flag rows with n below this in the small_n column.")] = 10,
    heatmap: Annotated[Optional[Path], typer.Option(help="Write an authorities x themes heatmap (PNG).")] = None,
    trends: Annotated[Optional[Path], typer.Option(help="Write theme shares over years (PNG).")] = None,
) -> None:
    """Theme shares of judgement findings per group, with n and a 95% Wilson interval.

    Each row: n (the group's findings of that polarity), letters, findings (those with
    the theme), share, ci_low, ci_high and small_n (n below --min-n).  With --unit
    sentence, n counts sentences and the findings column is named sentences (findings
    without sentences, such as list bullets, are not counted).  --authority with
    --vs adds the same figures for its statistical neighbours, the rest of its region and
    the rest of England (same filters, same years), told apart by the group column.
    For a site to browse (England overview, one page per authority), use
    `letterparse report`.

    Example: letterparse compare letters.duckdb --authority Newham --vs neighbours --vs england --polarity weakness --out cmp.csv
    """
    from .compare import write_comparison as run

    _reported(out, lambda: run(
        store, out, by, fmt=fmt, family=family, framework=framework, region=region, theme=theme,
        polarity=polarity, authority=authority, vs=vs or (), min_n=min_n, all_findings=all_findings,
        unit=unit, heatmap=heatmap, trends=trends,
    ))


@app.command()
def fetch(
    manifest: Annotated[Path, typer.Argument(help="CSV with an inspection_link or url column (optional sha256).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the downloaded PDFs.")],
    rate: Annotated[float, typer.Option(help="Seconds between requests.")] = 1.0,
    retries: Annotated[int, typer.Option(min=0, help="Retries on server and connection errors.")] = 3,
    deadline: Annotated[float, typer.Option(min=0.1, help="Seconds one whole download may take, however slowly the server sends.")] = 120.0,
) -> None:
    """Download the documents a manifest lists, politely, keeping only complete PDFs.

    Each row's outcome (url, path, status, error) goes to OUT/fetch-report.csv.

    Example: letterparse fetch ofsted_csc_ilacs_history.csv --out pdfs/
    """
    from .fetch import fetch as run

    try:
        result = run(manifest, out, rate=rate, retries=retries, deadline=deadline)
    except (LetterparseError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read {exc.filename or manifest}: {exc.strerror or exc}")
    typer.echo(result.summary(), err=True)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def train(
    corpus: Annotated[Optional[Path], typer.Option(help="Folder with the labelled PDFs (found by sha256) [default: ../shared/corpus beside the checkout].")] = None,
    labels: Annotated[Optional[Path], typer.Option(help="Folder of label CSVs (part*.csv) [default: the checkout's corpora/labels].")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Where to write the model [default: the checkout's models/].")] = None,
) -> None:
    """Rebuild the theme and polarity models from the labels, with grouped cross-validation.

    Example: letterparse train --corpus ../shared/corpus
    """
    corpus = corpus or _checkout("../shared/corpus")
    labels = labels or _checkout("corpora/labels")
    out = out or _checkout("models")
    if not corpus.is_dir():
        _fail(f"{corpus}: no such corpus folder")
    if not labels.is_dir():
        _fail(f"{labels}: no such labels folder")
    from .train import model_card_markdown, train as run

    card = run(corpus, labels, out)
    typer.echo(model_card_markdown(card))


# --- authorities over time: timeline, transitions, recurring ------------------------

StoreArg = Annotated[Path, typer.Argument(help="A store written by `letterparse batch`.", show_default=False)]
TableOut = Annotated[str, typer.Option("--out", "-o", help="FILE.csv, FILE.md, FILE.json, or - for stdout.")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="csv, md or json (default: from the --out suffix; csv for -).")]


def _table_command(out: str, fmt: str | None, build) -> None:
    """Check the output first, build the table, write it."""
    from .tables import check_out, write_table

    def make():
        check_out(out, fmt)
        table = build()
        write_table(table, out, fmt)
        return table

    _reported(out, make)


@app.command()
def timeline(
    store: StoreArg,
    out: TableOut = "-",
    authority: Annotated[Optional[str], typer.Option(help="One authority (name or GSS code), with the authorities it took over from.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Each document in date order: grade, previous graded inspection, direction, finding counts.

    Counts are of judgement findings (strength / weakness / priority) with the most frequent
    weakness themes; --authority includes the authorities it took over from.

    Example: letterparse timeline letters.duckdb --authority "North Northamptonshire" --out nn.md
    """
    from .timeline import timeline as run

    _table_command(out, fmt, lambda: run(store, authority=authority))


@app.command()
def transitions(store: StoreArg, out: TableOut = "-", fmt: FormatOpt = None) -> None:
    """Previous -> current overall grade, with counts, shares and 95% Wilson intervals.

    One block for all transitions and one per framework pair (sif -> ilacs, ilacs -> ilacs).

    Example: letterparse transitions letters.duckdb --out transitions.csv
    """
    from .timeline import transitions as run

    _table_command(out, fmt, lambda: run(store))


@app.command()
def recurring(
    store: StoreArg,
    out: TableOut = "-",
    min_events: Annotated[int, typer.Option("--min-events", min=2, help="Consecutive judgement events a run needs.")] = 2,
    england: Annotated[bool, typer.Option("--england", help="Instead: per theme, the share of authorities with it recurring.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Weakness themes that come back, per authority and theme, with the evidence.

    A run is consecutive judgement events (any family, in date order) that each have a
    weakness or priority finding of the theme; evidence lists finding ids and pages.

    Example: letterparse recurring letters.duckdb --out recurring.csv
    """
    from .timeline import recurring as run, recurring_england

    _table_command(out, fmt, lambda: (recurring_england if england else run)(store, min_events))


# --- the report: a static site ------------------------------------------------------------


@app.command()
def report(
    store: StoreArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the site (an earlier letterparse report there is replaced).")],
    corpus_root: Annotated[Optional[Path], typer.Option("--corpus-root", help="Folder with the PDFs, for links to a finding's page (default: the paths in the store).")] = None,
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Grey out groups with fewer findings or documents than this.")] = 10,
) -> None:
    """Write a static site to open in a browser: England overview and one page per authority.

    index.html (documents, grades, transitions, recurring themes, theme prevalence, a
    searchable table of authorities) and authority/<ONS code>.html (timeline, grades,
    theme profile against neighbours, region and England, recurring weaknesses, every
    judgement finding).  Works offline from file://.

    Example: letterparse report letters.duckdb --out site --corpus-root ../shared/corpus
    """
    from .report import report as run

    try:
        result = run(store, out, corpus_root=corpus_root, min_n=min_n)
    except (LetterparseError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {exc.filename or out}: {exc.strerror or exc}")
    typer.echo(result.summary(), err=True)
