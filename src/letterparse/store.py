"""Write parsed letters to a store and read them back for analysis.

The only module that imports DuckDB and pyarrow (both inside functions).  A
store is chosen by its path:

* ``*.jsonl`` - JSON Lines, one line per letter or error, appended whole
  (write + flush + fsync).  The last record for a sha256 wins; a truncated
  last line (a crash mid-write) is cut off when the store is opened again.
* a folder, or a path ending in ``.parquet`` or with no suffix - a Parquet
  folder with one file per table (``letters.parquet``, ``sections.parquet``,
  ``findings.parquet``, ``sentences.parquet``, ``errors.parquet``), rewritten
  all together (temporary files, a commit journal, renames; see
  ``commit_files``) on ``flush`` and when the store is closed.
* anything else (``*.duckdb``, the default) - a DuckDB database.

Schema (the same five tables in every format; see docs/store.md)::

    letters   sha256 (primary key), path, family, authority, ons_code, la_code,
              region, letter_date, inspection_start, inspection_end,
              year (year the inspection ended, else the letter date's year),
              inspectors (list of names), grades (JSON object text), pages,
              backend, parser_version, model_version, json (the full letter JSON)
    sections  sha256, section_id, parent, heading, kind, page
    findings  sha256, section_id, finding_id, kind (the section kind), polarity,
              mixed (its sentences both praise and criticise),
              themes (list of theme ids), theme_scores (JSON object text
              {theme: score}), text, page, start, end (offsets into the letter text)
    sentences sha256, finding_id, n (0-based order in the finding), start, end
              (offsets into the finding's text), polarity, themes (list of theme
              ids); prose findings only, once themes are classified
    errors    path, sha256, error (the error's type code, e.g. "not_a_pdf",
              "timeout", "internal"), message, parser_version

Each file is all in or all out: writing a letter or an error for a sha256
first removes every earlier row for that sha256 (in every table) and any
earlier error of the same path, in one transaction.  So a file that failed before and now parses loses its errors
row, and a file that fails again keeps exactly one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StoreError
from .io import dumps, fsync_dir, write_atomic
from .model import Letter

if TYPE_CHECKING:  # pragma: no cover
    import pandas

TABLES = ("letters", "sections", "findings", "sentences", "errors")
VIEWS = ("inspections", "judgement_findings", "judgement_sentences")
OVERALL = "overall_effectiveness"  # the grade key that is the inspection's overall grade

# Column name -> DuckDB type.  The order is the column order in every format.
COLUMNS: dict[str, dict[str, str]] = {
    "letters": {
        "sha256": "VARCHAR PRIMARY KEY",
        "path": "VARCHAR",
        "family": "VARCHAR",
        "framework": "VARCHAR",
        "authority": "VARCHAR",
        "ons_code": "VARCHAR",
        "la_code": "VARCHAR",
        "region": "VARCHAR",
        "letter_date": "DATE",
        "published": "DATE",
        "inspection_start": "DATE",
        "inspection_end": "DATE",
        "year": "INTEGER",
        "inspectors": "VARCHAR[]",
        "grades": "VARCHAR",
        "overall": "VARCHAR",
        "overall_raw": "VARCHAR",
        "pages": "INTEGER",
        "backend": "VARCHAR",
        "parser_version": "VARCHAR",
        "model_version": "VARCHAR",
        "json": "VARCHAR",
    },
    "sections": {
        "sha256": "VARCHAR",
        "section_id": "VARCHAR",
        "ordinal": "INTEGER",
        "parent": "VARCHAR",
        "heading": "VARCHAR",
        "kind": "VARCHAR",
        "role": "VARCHAR",
        "page": "INTEGER",
    },
    "findings": {
        "sha256": "VARCHAR",
        "section_id": "VARCHAR",
        "finding_id": "VARCHAR",
        "ordinal": "INTEGER",
        "kind": "VARCHAR",
        "role": "VARCHAR",
        "marker": "VARCHAR",
        "polarity": "VARCHAR",
        "mixed": "BOOLEAN",
        "themes": "VARCHAR[]",
        "theme_scores": "VARCHAR",
        "text": "VARCHAR",
        "page": "INTEGER",
        "start": "INTEGER",
        "end": "INTEGER",
    },
    "sentences": {
        "sha256": "VARCHAR",
        "finding_id": "VARCHAR",
        "n": "INTEGER",
        "start": "INTEGER",
        "end": "INTEGER",
        "polarity": "VARCHAR",
        "themes": "VARCHAR[]",
    },
    "errors": {
        "path": "VARCHAR",
        "sha256": "VARCHAR",
        "error": "VARCHAR",
        "message": "VARCHAR",
        "parser_version": "VARCHAR",
    },
}


@dataclass(frozen=True, slots=True)
class LetterRows:
    letter: dict[str, Any]
    sections: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    sentences: list[dict[str, Any]]


def _region(letter: Letter) -> str | None:
    from .gazetteer import load_gazetteer

    g = load_gazetteer()
    a = letter.authority
    rec = (g.by_ons(a.ons_code) if a.ons_code else None) or (g.by_name(a.name) if a.name else None)
    return rec.region if rec and rec.region else None


def path_text(path: str) -> str:
    """``path`` as a valid string for a store (and for a message): unchanged when it is
    valid UTF-8, else each byte of the file name that is not UTF-8 (which ``os`` gives as
    a lone surrogate, PEP 383) written as the four characters ``\\xNN``; reversed by
    :func:`path_bytes` (ambiguous only for a name that itself holds a backslash followed
    by ``x`` and two hex digits)."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        pass
    try:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate no file name gives (not U+DC80-U+DCFF)
        return path.encode("utf-8", "backslashreplace").decode("utf-8")


def path_bytes(text: str) -> bytes:
    """The file name's bytes from a path stored by :func:`path_text` (``open`` takes them)."""
    import re

    return re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m[1], 16)]), text.encode("utf-8"))


def letter_rows(letter: Letter, parser_version: str, model_version: str) -> LetterRows:
    """The rows one letter gives in the ``letters``, ``sections``, ``findings`` and
    ``sentences`` tables (a file name that is not UTF-8 as :func:`path_text` writes it, in the row and the JSON)."""
    path = path_text(letter.source.path)
    if path != letter.source.path:
        from dataclasses import replace

        letter = replace(letter, source=replace(letter.source, path=path))
    sha = letter.source.sha256
    end, ldate = letter.inspection.end, letter.letter_date
    dated = end or letter.published or ldate
    grades, raw = dict(letter.grades), dict(letter.grades_raw)
    row = {
        "sha256": sha,
        "path": letter.source.path,
        "family": letter.family,
        "framework": letter.framework,
        "authority": letter.authority.name,
        "ons_code": letter.authority.ons_code,
        "la_code": letter.authority.la_code,
        "region": _region(letter),
        "letter_date": ldate,
        "published": letter.published,
        "inspection_start": letter.inspection.start,
        "inspection_end": end,
        "year": dated.year if dated else None,
        "inspectors": list(letter.inspection.inspectors),
        "grades": json.dumps(grades, sort_keys=True),
        "overall": grades.get(OVERALL),
        "overall_raw": raw.get(OVERALL) if OVERALL in grades else None,
        "pages": letter.source.pages,
        "backend": letter.source.backend,
        "parser_version": parser_version,
        "model_version": model_version,
        "json": dumps(letter, indent=None),
    }
    sections, findings, sentences = [], [], []
    for i, s in enumerate(letter.sections, start=1):
        sections.append(
            {"sha256": sha, "section_id": s.id, "ordinal": i, "parent": s.parent, "heading": s.heading,
             "kind": s.kind, "role": s.role, "page": s.page}
        )
        for f in s.findings:
            findings.append(
                {
                    "sha256": sha,
                    "section_id": s.id,
                    "finding_id": f.id,
                    "ordinal": len(findings) + 1,
                    "kind": s.kind,
                    "role": s.role,
                    "marker": f.marker,
                    "polarity": f.polarity,
                    "mixed": f.mixed,
                    "themes": [t.theme for t in f.themes],
                    "theme_scores": json.dumps({t.theme: round(t.score, 4) for t in f.themes}, sort_keys=True),
                    "text": f.text,
                    "page": f.page,
                    "start": f.spans[0].start if f.spans else None,
                    "end": f.spans[-1].end if f.spans else None,
                }
            )
            sentences.extend(
                {"sha256": sha, "finding_id": f.id, "n": n, "start": x.start, "end": x.end, "polarity": x.polarity,
                 "themes": [t.theme for t in x.themes]}
                for n, x in enumerate(f.sentences)
            )
    return LetterRows(row, sections, findings, sentences)


def error_row(path: str, sha256: str | None, error: str, message: str, parser_version: str) -> dict[str, Any]:
    return {"path": path_text(path), "sha256": sha256, "error": error, "message": path_text(message),
            "parser_version": parser_version}


DUCKDB_SUFFIXES = (".duckdb", ".db", ".ddb")


def _write_failed(path: Path, exc: BaseException) -> StoreError:
    """The one-line error for a write that failed (a full disk, a lost device): the store
    keeps what its last completed write saved, and --resume parses the rest."""
    text = str(exc).strip()
    why = getattr(exc, "strerror", None) or (text.splitlines()[0] if text else type(exc).__name__)
    return StoreError(
        str(path), f"cannot write the store ({why}); it keeps what its last completed write saved: "
        "free the space or fix the cause, then run the same batch again with --resume",
    )


def store_kind(path: str | Path) -> str:
    """'jsonl', 'parquet' or 'duckdb', from the path's suffix: ``.jsonl``; no suffix or
    ``.parquet`` (a folder); ``.duckdb``, ``.db`` or ``.ddb``.  Any other suffix, a folder
    named like a file store, or a file named like a folder store is a :class:`StoreError`
    (``--out results.csv`` must not quietly become a database)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        kind = "jsonl"
    elif suffix in ("", ".parquet"):
        kind = "parquet"
    elif suffix in DUCKDB_SUFFIXES:
        kind = "duckdb"
    else:
        raise StoreError(str(p), f"{suffix!r} is not a store: give FILE.duckdb, FILE.jsonl, or a folder (no suffix, or .parquet)")
    if kind == "parquet" and p.exists() and not p.is_dir():
        raise StoreError(str(p), "is a file; a Parquet store is a folder")
    if kind != "parquet" and p.is_dir():
        raise StoreError(str(p), f"is a folder; a {kind} store is a file (a folder store has no suffix or .parquet)")
    return kind


def check_ours(path: Path, kind: str) -> None:
    """A :class:`StoreError` when ``path`` exists but is not a letterparse store (someone's
    own file or folder, or another tool's database): we never write into it, and reading
    it would only give confusing errors."""
    if not path.exists():
        return
    if kind == "duckdb":
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head and head[8:12] != b"DUCK":
            raise StoreError(str(path), "not a letterparse store (not a DuckDB database)")
    elif kind == "jsonl":
        with open(path, "rb") as fh:
            first = fh.readline()
        if first.strip():
            try:
                record = json.loads(first.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                record = None
            if not isinstance(record, dict) or record.get("type") not in ("letter", "error"):
                raise StoreError(str(path), "not a letterparse store (its first line is not a letterparse record)")
    else:
        names = {c.name for c in path.iterdir()}
        ours = {f"{t}.parquet" for t in TABLES} | {JOURNAL}
        if names and not names & ours and not all(n.startswith(".") and n.endswith(".tmp") for n in names):
            raise StoreError(str(path), "not a letterparse store (a folder with other files and no letters.parquet)")


def _foreign_duckdb(con) -> str | None:
    """Why a DuckDB database is not a letterparse store, or None (ours, or empty)."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'").fetchall()}
    if not tables:
        return None
    if "letters" not in tables:
        return f"not a letterparse store (a DuckDB database with the tables {', '.join(sorted(tables)[:5])})"
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'letters'").fetchall()}
    if not {"sha256", "json", "parser_version"} <= cols:
        return "not a letterparse store (its letters table is another tool's)"
    return None


class Store:
    """Write side of a store.  Use :func:`open_store`; close it (or use ``with``)."""

    kind = ""

    def __init__(self, path: Path):
        self.path = path

    def put_rows(
        self, rows: list[LetterRows], errors: list[tuple[str, str | None, str, str]], parser_version: str,
        model_version: str,
    ) -> None:
        """Several files at once: letters as their rows (:func:`letter_rows`), then errors
        ``(path, sha256, error, message)``.  Each file is all in or all out.  A batch's
        workers build the rows, so the one writing process only writes them."""
        raise NotImplementedError

    def put_many(
        self, letters: list[Letter], errors: list[tuple[str, str | None, str, str]], parser_version: str,
        model_version: str,
    ) -> None:
        """As :meth:`put_rows`, from :class:`Letter` records."""
        self.put_rows([letter_rows(l, parser_version, model_version) for l in letters], errors, parser_version, model_version)

    def put_letter(self, letter: Letter, parser_version: str, model_version: str) -> None:
        self.put_many([letter], [], parser_version, model_version)

    def put_error(self, path: str, sha256: str | None, error: str, message: str, parser_version: str) -> None:
        self.put_rows([], [(path, sha256, error, message)], parser_version, "")

    def completed(self, parser_version: str, model_version: str) -> set[str]:
        """sha256s already in ``letters`` with these versions (what ``--resume`` skips)."""
        raise NotImplementedError

    def flush(self) -> None:
        """Make everything written so far durable (DuckDB and JSONL already are)."""

    lock: _WriterLock | None = None

    def close(self) -> None:
        """Close the store and give up the writer's lock (closing may fail, on a full
        disk say: the lock goes all the same)."""
        try:
            self._close()
        except StoreError:
            raise
        except Exception as exc:  # a full disk or another write error while the store closes
            raise _write_failed(self.path, exc) from exc
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None

    def _close(self) -> None:
        pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lock_path(path: Path) -> Path:
    """The writer's lock file, beside the store (a file or a folder): ``STORE.lock``."""
    return path.with_name(path.name + ".lock")


class _WriterLock:
    """One writer per store: an exclusive ``flock`` on ``STORE.lock``, held while the
    store is open and removed when it closes.  The kernel drops the lock when its holder
    exits, however it exits, so a killed run leaves at most the file, never a lock.  A
    lock taken on a file that was meanwhile removed (its holder closed) is taken again on
    the new one, so two writers can never both hold it."""

    def __init__(self, store: Path, path: Path, wait: bool):
        import fcntl

        self.path = path
        while True:
            try:
                fh = open(path, "a+", encoding="utf-8")
            except OSError as exc:
                raise StoreError(str(store), f"cannot open the store's lock file {path.name}: {exc.strerror or exc}") from exc
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip()
                fh.close()
                who = f" (pid {holder})" if holder.isdigit() else ""
                raise StoreError(
                    str(store), f"another letterparse run{who} is writing this store; wait for it to finish, or pass --wait",
                ) from None
            try:
                same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            fh.close()  # the holder removed the file as we waited: lock the new one
        self.fh = fh
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()

    def release(self) -> None:
        import fcntl

        try:
            os.unlink(self.path)  # still holding the lock, so no one else has it
        except OSError:
            pass
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def open_store(path: str | Path, *, wait: bool = False) -> Store:
    """Open (creating if needed) the store at ``path`` for writing, as its only writer:
    a second writer gets a :class:`StoreError` at once, or with ``wait`` waits its turn.
    Close it (or use ``with``)."""
    p = Path(path)
    kind = store_kind(p)
    check_ours(p, kind)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(str(p), f"cannot create the folder for the store: {exc.strerror or exc}") from exc
    lock = _WriterLock(p, lock_path(p), wait)
    try:
        if kind == "jsonl":
            store: Store = JsonlStore(p)
        elif kind == "parquet":
            store = ParquetStore(p)
        else:
            store = DuckdbStore(p)
    except StoreError:
        lock.release()
        raise
    except Exception as exc:  # duckdb.IOException, OSError, pyarrow errors...
        lock.release()
        raise StoreError(str(p), f"cannot open the store: {exc}") from exc
    store.lock = lock
    return store


# --- letters written before a table or column existed ------------------------------
#
# A store written by an earlier letterparse lacks the columns added since: DuckDB
# gains them as nulls when opened for writing, Parquet and JSONL read them as nulls.
# Such letters are not ``completed`` (``--resume`` parses them again) and
# :func:`require_current` refuses them.  ``findings.mixed`` came with the
# ``sentences`` table: a finding row without it was written before sentences.

_STALE_SQL = "SELECT DISTINCT sha256 FROM findings WHERE mixed IS NULL AND sha256 IS NOT NULL"


def _stale_rows(rows: LetterRows) -> bool:
    """The letter's rows were written before the ``sentences`` table existed."""
    return any(f.get("mixed") is None for f in rows.findings)


def _stale_letter(letter: dict[str, Any]) -> bool:
    """A letter's JSON written before findings had sentences."""
    return any("sentences" not in f for s in letter.get("sections", ()) for f in s.get("findings", ()))


# --- DuckDB -------------------------------------------------------------------


# Never reach for the network: no extension is loaded or installed behind the user's back.
_DUCKDB_CONFIG = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}


def _migrate(con) -> None:
    """Add the columns a store written by an earlier version lacks (they stay null for its
    rows; ``--resume`` with this version parses those files again)."""
    for table, cols in COLUMNS.items():
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        for c, t in cols.items():
            if c not in have:
                con.execute(f'ALTER TABLE {table} ADD COLUMN "{c}" {t.replace(" PRIMARY KEY", "")}')


def _ddl() -> list[str]:
    out = []
    for table, cols in COLUMNS.items():
        body = ", ".join(f'"{c}" {t}' for c, t in cols.items())
        out.append(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
    return out


def _arrow(table: str, rows: list[dict[str, Any]]):
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=_arrow_schema(table))


def _arrow_schema(table: str):
    import pyarrow as pa

    types = {
        "VARCHAR": pa.string(),
        "DATE": pa.date32(),
        "INTEGER": pa.int32(),
        "BOOLEAN": pa.bool_(),
        "VARCHAR[]": pa.list_(pa.string()),
    }
    return pa.schema([(c, types[t.replace(" PRIMARY KEY", "")]) for c, t in COLUMNS[table].items()])


class DuckdbStore(Store):
    kind = "duckdb"

    def __init__(self, path: Path):
        import duckdb

        super().__init__(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One thread: the writer's small inserts gain nothing from more, and a batch's
        # workers need the other cores.  A larger write-ahead log before a checkpoint
        # (the default is 16 MB, a few dozen letters with their JSON): each checkpoint
        # re-compresses what changed, and a batch's parent would otherwise spend a
        # third of its write time on them; close() checkpoints what is left.
        self.con = duckdb.connect(str(path), config={**_DUCKDB_CONFIG, "threads": 1, "checkpoint_threshold": "256MB"})
        foreign = _foreign_duckdb(self.con)
        if foreign:
            self.con.close()
            raise StoreError(str(path), foreign)
        # Tables, lineage and views in one transaction (one append to the log), then into
        # the database file, so the letters' transactions start on an empty log.
        self.con.execute("BEGIN TRANSACTION")
        try:
            for stmt in _ddl():
                self.con.execute(stmt)
            _migrate(self.con)
            _create_views(self.con)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("CHECKPOINT")
        # What the store already holds, so a write deletes old rows only when there are
        # some (a scan of every table per transaction would make a long batch quadratic).
        # Entries may outlive their rows (a replaced error); that only costs a DELETE.
        # DuckDB's Arrow scan imports pyarrow (and pandas) the first time it runs: done
        # here, while a batch's workers are still starting, not at the first write.
        self.con.register("_rows", _arrow("errors", []))
        self.con.unregister("_rows")
        self.shas = {r[0] for r in self.con.execute("SELECT sha256 FROM letters UNION SELECT sha256 FROM errors").fetchall()}
        self.error_paths = {r[0] for r in self.con.execute("SELECT path FROM errors").fetchall()}

    def _replace(self, shas: list[str], paths: list[str], inserts: dict[str, list[dict[str, Any]]]) -> None:
        """One transaction: drop every row of these files (by sha256, and errors by path),
        then insert their new rows."""
        con = self.con
        old_shas = [s for s in shas if s in self.shas]
        old_paths = [p for p in paths if p in self.error_paths]
        con.execute("BEGIN TRANSACTION")
        try:
            if old_shas:
                for table in TABLES:
                    con.execute(f"DELETE FROM {table} WHERE list_contains(?, sha256)", [old_shas])
            if old_paths:
                # An earlier failure of the same path (perhaps other bytes then) is stale too.
                con.execute("DELETE FROM errors WHERE list_contains(?, path)", [old_paths])
            for table, rows in inserts.items():
                if rows:
                    con.register("_rows", _arrow(table, rows))
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
                    con.unregister("_rows")
            con.execute("COMMIT")
        except Exception as exc:
            con.execute("ROLLBACK")
            raise _write_failed(self.path, exc) from exc
        self.shas.update(shas)
        self.error_paths.update(r["path"] for r in inserts["errors"])

    def put_rows(self, rows, errors, parser_version, model_version) -> None:
        inserts: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        for r in rows:
            inserts["letters"].append(r.letter)
            inserts["sections"].extend(r.sections)
            inserts["findings"].extend(r.findings)
            inserts["sentences"].extend(r.sentences)
        for path, sha256, error, message in errors:
            inserts["errors"].append(error_row(path, sha256, error, message, parser_version))
        shas = [r.letter["sha256"] for r in rows] + [e[1] for e in errors if e[1] is not None]
        paths = [r.letter["path"] for r in rows] + [path_text(e[0]) for e in errors]
        if paths:
            self._replace(shas, paths, inserts)

    def completed(self, parser_version: str, model_version: str) -> set[str]:
        rows = self.con.execute(
            "SELECT sha256 FROM letters WHERE parser_version = ? AND model_version = ? AND sha256 NOT IN "
            f"({_STALE_SQL})", [parser_version, model_version]
        ).fetchall()
        return {r[0] for r in rows}

    def _close(self) -> None:
        self.con.close()


# --- views ----------------------------------------------------------------------
#
# The comparison views, defined once in SQL: created in a DuckDB store (so the store
# answers SQL directly) and run over the loaded tables of every other format by
# :func:`load`.  ``authority_lineage`` pairs every authority with itself and with each
# authority it took over from (see ``Gazetteer.lineage``), so an authority's history
# runs on through a reorganisation.

_RANK = (
    "CASE {c} WHEN 'outstanding' THEN 1 WHEN 'good' THEN 2 "
    "WHEN 'requires_improvement' THEN 3 WHEN 'inadequate' THEN 4 END"
)

VIEW_SQL = {
    "inspections": f"""
WITH ev AS (
    SELECT sha256, path, authority, ons_code, la_code, region, family, framework,
           inspection_start, inspection_end, published, year, overall, overall_raw,
           coalesce(inspection_end, inspection_start, published, letter_date) AS event_date,
           {_RANK.format(c="overall")} AS rank
    FROM letters
),
lineage AS (
    SELECT authority, ancestor FROM authority_lineage
    UNION SELECT DISTINCT authority, authority FROM letters WHERE authority IS NOT NULL
),
earlier AS (
    SELECT cur.sha256, prev.sha256 AS p_sha, prev.overall AS p_overall, prev.rank AS p_rank,
           prev.event_date AS p_date
    FROM ev cur
    JOIN lineage lin ON lin.authority = cur.authority
    JOIN ev prev ON prev.authority = lin.ancestor AND prev.event_date < cur.event_date
),
graded AS (
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY sha256 ORDER BY p_date DESC, p_sha DESC) AS rn
        FROM earlier WHERE p_overall IS NOT NULL
    ) WHERE rn = 1
),
anyprev AS (
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY sha256 ORDER BY p_date DESC, p_sha DESC) AS rn
        FROM earlier
    ) WHERE rn = 1
)
SELECT ev.sha256, ev.path, ev.authority, ev.ons_code, ev.la_code, ev.region, ev.family, ev.framework,
       ev.inspection_start, ev.inspection_end, ev.published, ev.event_date, ev.year,
       ev.overall, ev.overall_raw,
       g.p_sha AS previous_sha256, g.p_overall AS previous_overall,
       CAST(date_diff('day', g.p_date, ev.event_date) AS INTEGER) AS days_since_previous,
       CASE WHEN ev.rank IS NULL OR g.p_rank IS NULL THEN NULL
            WHEN ev.rank < g.p_rank THEN 'improved'
            WHEN ev.rank = g.p_rank THEN 'same'
            ELSE 'declined' END AS direction,
       a.p_sha AS previous_event_sha256
FROM ev LEFT JOIN graded g ON g.sha256 = ev.sha256 LEFT JOIN anyprev a ON a.sha256 = ev.sha256
ORDER BY ev.authority NULLS LAST, ev.event_date NULLS LAST, ev.sha256
""",
    "judgement_findings": """
SELECT f.sha256, f.section_id, f.finding_id, f.ordinal, f.kind, f.role, f.marker, f.polarity,
       f.mixed, f.themes, f.theme_scores, f.text, f.page, f."start", f."end",
       l.authority, l.ons_code, l.la_code, l.region, l.family, l.framework, l.year, l.published,
       l.overall, l.path
FROM findings f JOIN letters l ON l.sha256 = f.sha256
WHERE f.role = 'judgement'
ORDER BY f.sha256, f.ordinal
""",
    # offsets are characters (code points) into the finding's text, as in Python; substr is 1-based
    "judgement_sentences": """
SELECT s.sha256, f.section_id, s.finding_id, s.n, f.kind, f.role, s.polarity, s.themes,
       substr(f.text, s."start" + 1, s."end" - s."start") AS text, s."start", s."end",
       f.polarity AS finding_polarity, f.mixed,
       l.authority, l.ons_code, l.la_code, l.region, l.family, l.framework, l.year, l.published,
       l.overall, l.path
FROM sentences s
JOIN findings f ON f.sha256 = s.sha256 AND f.finding_id = s.finding_id
JOIN letters l ON l.sha256 = s.sha256
WHERE f.role = 'judgement'
ORDER BY s.sha256, f.ordinal, s.n
""",
}


# Column order of each view (the docs and the tests read it).
VIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "inspections": (
        "sha256", "path", "authority", "ons_code", "la_code", "region", "family", "framework",
        "inspection_start", "inspection_end", "published", "event_date", "year", "overall", "overall_raw",
        "previous_sha256", "previous_overall", "days_since_previous", "direction", "previous_event_sha256",
    ),
    "judgement_findings": (
        "sha256", "section_id", "finding_id", "ordinal", "kind", "role", "marker", "polarity", "mixed", "themes",
        "theme_scores", "text", "page", "start", "end", "authority", "ons_code", "la_code", "region", "family",
        "framework", "year", "published", "overall", "path",
    ),
    "judgement_sentences": (
        "sha256", "section_id", "finding_id", "n", "kind", "role", "polarity", "themes", "text", "start", "end",
        "finding_polarity", "mixed", "authority", "ons_code", "la_code", "region", "family", "framework", "year",
        "published", "overall", "path",
    ),
}


def _lineage_rows() -> list[dict[str, str]]:
    from .gazetteer import load_gazetteer

    return [{"authority": a, "ancestor": b} for a, b in load_gazetteer().lineage()]


def _create_views(con) -> None:
    """(Re)create ``authority_lineage`` and the views in a DuckDB connection."""
    import pyarrow as pa

    con.register("_lineage", pa.Table.from_pylist(_lineage_rows(), schema=pa.schema([("authority", pa.string()), ("ancestor", pa.string())])))
    con.execute("CREATE OR REPLACE TABLE authority_lineage AS SELECT * FROM _lineage")
    con.unregister("_lineage")
    for name, sql in VIEW_SQL.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")


def derived_frames(frames: dict[str, pandas.DataFrame]) -> dict[str, pandas.DataFrame]:
    """The views of :data:`VIEW_SQL` computed over loaded tables (any store format)."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(":memory:", config=_DUCKDB_CONFIG)
    try:
        for t in ("letters", "findings", "sentences"):
            con.register(f"_{t}", pa.Table.from_pandas(frames[t], schema=_arrow_schema(t), preserve_index=False))
            con.execute(f"CREATE TABLE {t} AS SELECT * FROM _{t}")
        _create_views(con)
        out = {}
        for name in VIEW_SQL:
            df = con.execute(f"SELECT * FROM {name}").df()
            for c in ("inspection_start", "inspection_end", "published", "event_date"):
                if c in df.columns:
                    df[c] = pd_dates(df[c])
            for c in ("days_since_previous", "year", "ordinal", "n", "page", "start", "end"):
                if c in df.columns:
                    df[c] = df[c].astype("Int64")
            if "mixed" in df.columns:
                df["mixed"] = df["mixed"].astype("boolean")
            if "themes" in df.columns:
                df["themes"] = df["themes"].map(lambda v: [] if v is None else list(v))
            out[name] = df.reset_index(drop=True)
        return out
    finally:
        con.close()


def pd_dates(col):
    import pandas as pd

    return pd.to_datetime(col).dt.date.where(col.notna(), None)


# --- JSON Lines -----------------------------------------------------------------


class JsonlStore(Store):
    """``{"type": "letter", "parser_version", "model_version", "letter": {...}}`` or
    ``{"type": "error", "path", "sha256", "error", "message", "parser_version"}``, one per line."""

    kind = "jsonl"

    def __init__(self, path: Path):
        super().__init__(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _truncate_partial_line(path)
        self.state = _read_jsonl(path, keep_letters=False)
        self.fh = open(path, "ab")

    def _append(self, lines: list[str], records: list[dict[str, Any]]) -> None:
        """Whole lines, one write, flushed and fsynced: a crash can only tear the last line.
        A write that fails (a full disk) is cut off again, so the file ends at its last
        complete write."""
        data = "".join(lines).encode("utf-8")
        end = self.fh.tell()
        try:
            self.fh.write(data)
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as exc:
            try:
                os.truncate(self.fh.fileno(), end)
            except OSError:
                pass  # the next open cuts a torn last line all the same
            raise _write_failed(self.path, exc) from exc
        for r in records:
            _apply(self.state, r)

    def put_rows(self, rows, errors, parser_version, model_version) -> None:
        lines, records = [], []
        for r in rows:
            head = {"type": "letter", "sha256": r.letter["sha256"], "path": r.letter["path"],
                    "parser_version": parser_version, "model_version": model_version}
            # the letter's JSON is already in its row: spliced in, not serialised again
            # ("letter" sorts first, so the line equals json.dumps(record, sort_keys=True))
            lines.append('{"letter": ' + r.letter["json"] + ", " + _line(head)[1:])
            records.append(head)
        for p, s, e, m in errors:
            rec = {"type": "error", **error_row(p, s, e, m, parser_version)}
            lines.append(_line(rec))
            records.append(rec)
        if lines:
            self._append(lines, records)

    def completed(self, parser_version: str, model_version: str) -> set[str]:
        return {
            sha
            for sha, r in self.state.letters.items()
            if r["parser_version"] == parser_version and r["model_version"] == model_version and not r.get("_stale")
        }

    def _close(self) -> None:
        self.fh.close()


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str) + "\n"


def _truncate_partial_line(path: Path) -> None:
    """Cut a last line that has no newline (a write interrupted by a crash)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        fh.truncate(data.rfind(b"\n") + 1)
        fh.flush()
        os.fsync(fh.fileno())


@dataclass(slots=True)
class _State:
    """What a store holds: letters by sha256, errors by path."""

    letters: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)


def _apply(state: _State, record: dict[str, Any], letter: Any = None) -> None:
    """Replay one write: all rows of the file's sha256 (and errors of its path) go first."""
    sha, path = record.get("sha256"), record["path"]
    state.errors = {p: e for p, e in state.errors.items() if p != path and (sha is None or e.get("sha256") != sha)}
    if sha is not None:
        state.letters.pop(sha, None)
    if record.get("type", "letter") == "letter":
        state.letters[sha] = record if letter is None else letter
    else:
        state.errors[path] = record


def _read_jsonl(path: Path, keep_letters: bool = True) -> _State:
    """What a JSONL store holds; without ``keep_letters`` a letter's record keeps its
    versions but not the letter itself (enough for a writer, and far smaller)."""
    state = _State()
    if not path.exists():
        return state
    # Bytes, not text: a crash can cut the last line inside a multi-byte character,
    # and that partial line must be skipped, not fail the decoding of the file.
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                break  # a partial last line: ignored (and cut off when opened for writing)
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise StoreError(str(path), f"line {n} is not JSON: {exc}") from exc
            if isinstance(record.get("letter"), dict) and _stale_letter(record["letter"]):
                record["_stale"] = True  # written before sentences: see _stale_letter
            if not keep_letters:
                record.pop("letter", None)
            _apply(state, record)
    return state


# --- Parquet folder -------------------------------------------------------------


class ParquetStore(Store):
    """Rows are kept in memory; ``flush`` and ``close`` write every table's file (all or none)."""

    kind = "parquet"

    def __init__(self, path: Path):
        super().__init__(path)
        path.mkdir(parents=True, exist_ok=True)
        recover(path)
        frames = _load_parquet(path) if (path / "letters.parquet").exists() else None
        self.state = _State()
        if frames is not None:
            parts = {t: frames[t].groupby("sha256") if len(frames[t]) else None for t in ("sections", "findings", "sentences")}

            def rows_of(table: str, sha: str) -> list[dict[str, Any]]:
                g = parts[table]
                return _records(g.get_group(sha)) if g is not None and sha in g.groups else []

            for row in _records(frames["letters"]):
                sha = row["sha256"]
                self.state.letters[sha] = LetterRows(
                    row, rows_of("sections", sha), rows_of("findings", sha), rows_of("sentences", sha))
            for row in _records(frames["errors"]):
                self.state.errors[row["path"]] = row

    def put_rows(self, rows, errors, parser_version, model_version) -> None:
        for r in rows:
            _apply(self.state, {"type": "letter", "sha256": r.letter["sha256"], "path": r.letter["path"]}, r)
        for path, sha256, error, message in errors:
            _apply(self.state, {"type": "error", **error_row(path, sha256, error, message, parser_version)})

    def completed(self, parser_version: str, model_version: str) -> set[str]:
        return {
            sha
            for sha, r in self.state.letters.items()
            if r.letter["parser_version"] == parser_version and r.letter["model_version"] == model_version
            and not _stale_rows(r)
        }

    def _close(self) -> None:
        self.flush()

    def flush(self) -> None:
        import io as _io

        import pyarrow.parquet as pq

        letters, errors = self.state.letters, self.state.errors
        order = sorted(letters)
        tables = {
            "letters": [letters[s].letter for s in order],
            "sections": [row for s in order for row in letters[s].sections],
            "findings": [row for s in order for row in letters[s].findings],
            "sentences": [row for s in order for row in letters[s].sentences],
            "errors": [errors[k] for k in sorted(errors)],
        }
        blobs = {}
        for name, rows in tables.items():
            buf = _io.BytesIO()
            pq.write_table(_arrow(name, rows), buf)
            blobs[f"{name}.parquet"] = buf.getvalue()
        try:
            commit_files(self.path, blobs)
        except OSError as exc:
            raise _write_failed(self.path, exc) from exc


# The Parquet files (one per table) change together or not at all: each is written to a
# temporary file, then a journal naming them all is written (atomically), then
# they are renamed into place and the journal removed.  A crash before the journal
# exists leaves the old files (and stray temporaries, removed on the next open);
# a crash after it is rolled forward by ``recover`` on the next open.
JOURNAL = "_commit.json"


def commit_files(folder: Path, blobs: dict[str, bytes]) -> None:
    """Replace the files ``folder/name`` with ``blobs[name]``, all or none."""
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    temps: dict[str, str] = {}
    try:
        for name, data in blobs.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            temps[name] = tmp
            os.chmod(tmp, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        journal = {name: os.path.basename(tmp) for name, tmp in temps.items()}
        write_atomic(folder / JOURNAL, json.dumps(journal, sort_keys=True))
    except BaseException:
        for tmp in temps.values():
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    recover(folder)


_STORE_FILES = tuple(f"{t}.parquet" for t in TABLES)


def _valid_journal(folder: Path, journal_path: Path) -> dict[str, str]:
    """The journal's renames, if every one stays inside the store: a target must be one of
    the table files and a source one of our temporary names for it (no separator, no
    parent, no absolute path).  A store received from someone else is data, and must not
    make us write anywhere else."""
    import re

    try:
        journal = json.loads(journal_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(str(folder), f"the commit journal {JOURNAL} is unreadable: {exc}") from exc
    if not isinstance(journal, dict):
        raise StoreError(str(folder), f"the commit journal {JOURNAL} is not a letterparse journal")
    for name, tmp in journal.items():
        ok = (
            name in _STORE_FILES and isinstance(tmp, str)
            and re.fullmatch(rf"\.{re.escape(name)}\.[A-Za-z0-9_]+\.tmp", tmp) is not None
        )
        if not ok:
            raise StoreError(str(folder), f"refusing the commit journal {JOURNAL}: it names a file outside the store ({name!r} <- {tmp!r})")
    return journal


def recover(folder: Path, strays: bool = True) -> None:
    """Finish a commit whose journal was written (roll forward); with ``strays``, also
    delete the temporaries of a commit that never got that far."""
    journal_path = folder / JOURNAL
    if journal_path.exists():
        journal = _valid_journal(folder, journal_path)
        for name, tmp in journal.items():
            if (folder / tmp).exists():
                os.replace(folder / tmp, folder / name)
        fsync_dir(folder)
        journal_path.unlink()
    if strays:
        for pattern in (".*.parquet.*.tmp", f".{JOURNAL}.*.tmp"):
            for stray in folder.glob(pattern):
                stray.unlink(missing_ok=True)
    fsync_dir(folder)


def _records(df: pandas.DataFrame) -> list[dict[str, Any]]:
    import pandas as pd

    out = []
    for rec in df.to_dict("records"):
        clean = {}
        for k, v in rec.items():
            if hasattr(v, "tolist") and not isinstance(v, str):
                v = v.tolist()
            elif not isinstance(v, list) and pd.isna(v):
                v = None
            elif isinstance(v, pd.Timestamp):
                v = v.date()
            clean[k] = v
        out.append(clean)
    return out


# --- reading --------------------------------------------------------------------


def load(store: str | Path) -> dict[str, pandas.DataFrame]:
    """The tables of a store as pandas DataFrames: ``letters``, ``sections``,
    ``findings``, ``sentences`` and ``errors`` (columns as in the module docstring),
    sorted by sha256, and the views of :data:`VIEW_SQL` (``inspections``,
    ``judgement_findings``, ``judgement_sentences``) computed over them.

    >>> tables = letterparse.load("letters.duckdb")   # doctest: +SKIP
    >>> tables["findings"].groupby("polarity").size()  # doctest: +SKIP
    """
    p = Path(store)
    if not p.exists():
        raise StoreError(str(p), "no such store")
    kind = store_kind(p)
    check_ours(p, kind)
    try:
        if kind == "duckdb":
            frames = _load_duckdb(p)
        elif kind == "jsonl":
            frames = _load_jsonl(p)
        else:
            frames = _load_parquet(p)
        frames.update(derived_frames(frames))
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(str(p), f"cannot read the store: {exc}") from exc
    return frames


def require_current(frames: dict[str, pandas.DataFrame], where: str) -> None:
    """A :class:`StoreError` when some letters were written by a newer letterparse (whose
    meaning this version cannot know) or an earlier one (no frameworks, no section roles,
    or findings without ``mixed`` and sentences: comparisons would silently leave them
    out).  An earlier store is told by the columns it lacks (null), not by its version
    number; ``--resume`` parses those letters again (see :func:`_stale_rows`)."""
    from . import PARSER_VERSION

    letters = frames["letters"]
    versions = {str(v) for v in letters["parser_version"].dropna()}
    newer = sorted(v for v in versions if v.isdigit() and PARSER_VERSION.isdigit() and int(v) > int(PARSER_VERSION))
    if newer:
        raise StoreError(
            where, f"written by a newer letterparse (parser version {', '.join(newer)}; this is {PARSER_VERSION}): "
            "upgrade letterparse to read it",
        )
    no_framework = letters["framework"].isna()
    no_sentences = letters["sha256"].isin(_stale_shas(frames))
    old = letters[no_framework | no_sentences]
    if len(old):
        versions = ", ".join(sorted(set(old["parser_version"].dropna().astype(str)))) or "unknown"
        lacks = [what for what, flag in (("frameworks or section roles", no_framework.any()),
                                         ("sentences", no_sentences.any())) if flag]
        raise StoreError(
            where,
            f"{len(old)} of {len(letters)} letters were written by an earlier letterparse (parser version "
            f"{versions}) and have no {' and no '.join(lacks)}; parse them again with "
            f"`letterparse batch FILES --out {where} --resume`",
        )


def _stale_shas(frames: dict[str, pandas.DataFrame]) -> set[str]:
    """Letters with a findings row written before ``mixed`` and the ``sentences`` table."""
    f = frames.get("findings")
    if f is None or not len(f):
        return set()
    if "mixed" not in f.columns:
        return set(f["sha256"].dropna())
    return set(f.loc[f["mixed"].isna(), "sha256"].dropna())


def _load_duckdb(path: Path) -> dict[str, pandas.DataFrame]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True, config=_DUCKDB_CONFIG)
    try:
        foreign = _foreign_duckdb(con)
        if foreign:
            raise StoreError(str(path), foreign)
        keys = {"letters": "sha256", "sections": "sha256, ordinal, section_id", "findings": "sha256, ordinal, finding_id", "errors": "path"}
        have = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        out = {}
        for t in TABLES:
            if t not in have:  # a table added since the store was written (and not opened for writing since)
                out[t] = _typed(t, _arrow(t, []).to_pandas())
            elif t == "sentences":  # in the order of their findings
                out[t] = _typed(t, con.execute(
                    "SELECT s.* FROM sentences s LEFT JOIN findings f ON f.sha256 = s.sha256 AND f.finding_id = s.finding_id "
                    "ORDER BY s.sha256, f.ordinal, s.finding_id, s.n").df())
            else:
                out[t] = _typed(t, con.execute(f"SELECT * FROM {t} ORDER BY {keys[t]}").df())
        return out
    finally:
        con.close()


def _load_parquet(path: Path) -> dict[str, pandas.DataFrame]:
    import pyarrow.parquet as pq

    if (path / JOURNAL).exists():  # a writer stopped half-way through renaming: finish its commit
        try:
            recover(path, strays=False)
        except OSError as exc:
            raise StoreError(str(path), f"an interrupted write needs finishing; open the store for writing: {exc}") from exc
    out = {}
    for t in TABLES:
        f = path / f"{t}.parquet"
        table = pq.read_table(f) if f.exists() else _arrow(t, [])
        out[t] = _typed(t, table.to_pandas())
    return out


def _load_jsonl(path: Path) -> dict[str, pandas.DataFrame]:
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    state = _read_jsonl(path)
    for sha in sorted(state.letters):
        r = state.letters[sha]
        lr = letter_rows(Letter.from_dict(r["letter"]), r["parser_version"], r["model_version"])
        if r.get("_stale"):  # as the other formats read a row written before the column existed
            for f in lr.findings:
                f["mixed"] = None
        rows["letters"].append(lr.letter)
        rows["sections"].extend(lr.sections)
        rows["findings"].extend(lr.findings)
        rows["sentences"].extend(lr.sentences)
    for p in sorted(state.errors):
        rows["errors"].append({c: state.errors[p].get(c) for c in COLUMNS["errors"]})
    return {t: _typed(t, _arrow(t, rows[t]).to_pandas()) for t in TABLES}


def _typed(table: str, df: pandas.DataFrame) -> pandas.DataFrame:
    """The same dtypes whichever format the table came from."""
    import pandas as pd

    for c, t in COLUMNS[table].items():
        if c not in df.columns:  # a store written by an earlier version
            df[c] = None
        if t == "DATE":
            df[c] = pd.to_datetime(df[c]).dt.date
        elif t == "INTEGER":
            df[c] = df[c].astype("Int64")
        elif t == "BOOLEAN":
            df[c] = df[c].astype("boolean")
        elif t == "VARCHAR[]":
            df[c] = df[c].map(lambda v: [] if v is None else list(v))
    return df[list(COLUMNS[table])].reset_index(drop=True)
