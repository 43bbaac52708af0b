"""Bad input: a typed error with a clear message from the library, and
`Error: ...` with exit code 1 from the CLI, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from letterparse import errors, parse
from letterparse.cli import app


@pytest.fixture(scope="session")
def good(samples):
    """An invented sample letter that parses (3 pages)."""
    return samples / "2019_leeds_focused_visit.pdf"


def _encrypted(path):
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    enc = pdfencrypt.StandardEncryption("secret", ownerPassword="owner", canPrint=0, strength=128)
    c = canvas.Canvas(str(path), encrypt=enc)
    c.drawString(72, 720, "Strengths")
    c.save()
    return path


def _scanned(path):
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.rect(72, 600, 300, 100, fill=1)  # a picture of a page, no text layer
    c.showPage()
    c.rect(72, 600, 300, 100, fill=1)
    c.save()
    return path


def _w(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


CASES = [
    ("missing", lambda p, good: p / "nope.pdf", errors.InputNotFound, "no such file"),
    ("directory", lambda p, good: p, errors.IsADirectory, "is a directory"),
    ("empty", lambda p, good: _w(p / "empty.pdf", b""), errors.EmptyFile, "empty"),
    ("html", lambda p, good: _w(p / "err.pdf", "<!DOCTYPE html><html><body>Not found</body></html>"),
     errors.NotAPdf, "HTML"),
    ("garbage", lambda p, good: _w(p / "g.pdf", bytes(range(256)) * 40), errors.NotAPdf, "binary"),
    ("truncated", lambda p, good: _w(p / "t.pdf", good.read_bytes()[:3000]), errors.CorruptPdf, "corrupt"),
    ("corrupt", lambda p, good: _w(p / "c.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 500), errors.CorruptPdf, "corrupt"),
    ("encrypted", lambda p, good: _encrypted(p / "e.pdf"), errors.EncryptedPdf, "encrypted"),
    ("scanned", lambda p, good: _scanned(p / "s.pdf"), errors.NoTextLayer, "OCR"),
    ("docx", lambda p, good: _w(p / "a.docx", b"PK\x03\x04rest"), errors.UnsupportedFileType, "unsupported"),
    ("latin1 text", lambda p, good: _w(p / "l.txt", "caf\xe9 ".encode("latin-1") * 10), errors.BadTextEncoding, "UTF-8"),
]


@pytest.mark.parametrize("backend", ["pdfium", "plumber"])
@pytest.mark.parametrize("name,make,exc,words", CASES, ids=[c[0] for c in CASES])
def test_library_raises_typed_errors(tmp_path, good, backend, name, make, exc, words):
    path = make(tmp_path, good)
    with pytest.raises(exc) as info:
        parse(path, backend=backend, themes=False)
    assert isinstance(info.value, errors.LetterparseError)
    assert words.lower() in str(info.value).lower()
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name,make,exc,words", CASES, ids=[c[0] for c in CASES])
def test_cli_prints_error_and_exits_1(tmp_path, good, name, make, exc, words):
    path = make(tmp_path, good)
    result = CliRunner().invoke(app, ["extract", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert words.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_page_limit(good, tmp_path):
    with pytest.raises(errors.TooLarge) as info:
        parse(good, max_pages=1, themes=False)
    assert "page count" in str(info.value)
    with pytest.raises(errors.TooLarge):
        parse(good, max_bytes=1000, themes=False)


def test_page_limit_applies_to_text_input_too(tmp_path):
    """A text file's pages are its form-feed separated parts; the limit counts them."""
    txt = tmp_path / "letter.txt"
    txt.write_text("\f".join(["Ofsted\nAreas for improvement\n\n- Plans are not reviewed often enough."] * 3), encoding="utf-8")
    assert parse(txt, max_pages=3, themes=False).source.pages == 3
    with pytest.raises(errors.TooLarge) as info:
        parse(txt, max_pages=2, themes=False)
    assert "page count 3 exceeds the limit of 2" in str(info.value)
    result = CliRunner().invoke(app, ["extract", str(txt), "--max-pages", "2"])
    assert result.exit_code == 1 and "page count 3" in result.stderr and "Traceback" not in result.stderr


def test_cli_goes_on_past_a_bad_file(good, tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_text("<html></html>")
    result = CliRunner().invoke(app, ["extract", str(bad), str(good)])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and '"family": "focused_visit"' in lines[0]
    assert "bad.pdf" in result.stderr


SPEC = """Software requirements specification

Overview

The service stores user records and exposes them over a REST interface.

Recommendations

- Requests are authenticated with short-lived tokens.
- Responses are cached for sixty seconds.
"""


def _spec_pdf(path):
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    y = 760
    for line in SPEC.splitlines():
        c.drawString(72, y, line)
        y -= 16
    c.save()
    return path


@pytest.mark.parametrize("make", ["txt", "pdf"])
def test_a_document_that_is_not_from_ofsted_is_refused(tmp_path, make):
    """A software specification with headings like ours ("Overview", "Recommendations") is
    not an inspection document: a typed not_ofsted error, not 2 findings counted as weaknesses."""
    path = tmp_path / f"spec.{make}"
    if make == "txt":
        path.write_text(SPEC, encoding="utf-8")
    else:
        _spec_pdf(path)
    with pytest.raises(errors.NotOfsted) as info:
        parse(path, themes=False)
    assert info.value.code == "not_ofsted"
    result = CliRunner().invoke(app, ["extract", "--no-themes", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == f"Error: {path}: not an Ofsted inspection document (it names no Ofsted and has no inspection title)"


def test_an_inspection_title_without_the_word_ofsted_is_still_a_letter(tmp_path):
    path = tmp_path / "fv.txt"
    path.write_text("Focused visit to Exampleshire children's services\n\nAreas for improvement\n\n- Plans are not reviewed often enough.\n", encoding="utf-8")
    letter = parse(path, themes=False)
    assert letter.framework == "focused_visit" and len(letter.findings) == 1


def test_batch_records_a_foreign_document_and_goes_on(good, tmp_path):
    import letterparse

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "LICENSE.txt").write_text("MIT License\n\nPermission is hereby granted, free of charge.\n", encoding="utf-8")
    (tmp_path / "in" / "letter.pdf").write_bytes(good.read_bytes())
    out = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["batch", str(tmp_path / "in"), "--out", str(out), "--workers", "1", "--no-themes"])
    assert result.exit_code == 1 and "1 parsed" in result.stderr and "1 errors" in result.stderr
    t = letterparse.load(out)
    assert t["errors"][["error"]].values.tolist() == [["not_ofsted"]]
    assert t["letters"]["authority"].tolist() == ["Leeds"]
