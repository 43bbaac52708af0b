"""Tests for tests/render.py, the invented-letter PDF renderer, and for the
invented samples in corpora/samples/."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("reportlab")
pytest.importorskip("pypdfium2")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpora" / "samples"
SEED = ROOT.parent / "shared" / "seed"


def _load_render():
    name = "letterparse_test_render"  # same name as scripts/render_samples.py uses
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("render.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


render = _load_render()

SAMPLE_FILES = sorted(p for p in SAMPLES.glob("*.md") if p.name.lower() != "readme.md")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------------------
# markup parsing

MINI = """\
bullet: \\u25fc
header: Running header
footer: www.example.org\\nsecond line
page_numbers: page-of
letterhead: true
---
1 April 2020

Ms A Person\\
Director\\
Some Council

= A title

# First heading

A paragraph
continued on a second line.

- one
- two that
  continues here
  - sub item
1. numbered one
2. numbered two

| Judgement | Grade |
|---|---|
| Overall effectiveness | Good |
<<pagebreak>>
## Sub heading
\\- not a bullet
\f
last page
"""


def test_parse_markup_options_and_blocks():
    opts, blocks = render.parse_markup(MINI)
    assert opts.bullet == "\u25fc"
    assert opts.header == "Running header"
    assert opts.footer == "www.example.org\nsecond line"
    assert opts.page_numbers == "page-of"
    assert opts.letterhead.startswith("Ofsted\nPiccadilly Gate")
    kinds = [b.kind for b in blocks]
    assert kinds == [
        "para", "para", "title", "heading", "para",
        "bullet", "bullet", "bullet", "numbered", "numbered",
        "table", "pagebreak", "subheading", "para", "pagebreak", "para",
    ]
    assert blocks[1].text == "Ms A Person\nDirector\nSome Council"
    assert blocks[4].text == "A paragraph continued on a second line."
    assert blocks[6].text == "two that continues here"
    assert (blocks[7].level, blocks[7].text) == (1, "sub item")
    assert [b.label for b in blocks[8:10]] == ["1.", "2."]
    assert blocks[10].rows == [["Judgement", "Grade"], ["Overall effectiveness", "Good"]]
    assert blocks[10].header_rows == 1
    assert blocks[13].text == "- not a bullet"


def test_no_front_matter():
    opts, blocks = render.parse_markup("Inspection dates: 1 to 5 May 2023\n\nText.\n")
    assert opts.bullet == "\u2022" and opts.page_numbers == "none"
    assert [b.plain for b in blocks] == ["Inspection dates: 1 to 5 May 2023", "Text."]


def test_bad_page_numbers_option():
    with pytest.raises(ValueError):
        render.parse_markup("page_numbers: roman\n---\nx\n")


# ---------------------------------------------------------------------------
# rendering


def test_render_mini_document(tmp_path):
    out = render.render_letter(MINI, tmp_path / "mini.pdf")
    pages = render.page_texts(out)
    assert len(pages) == 3
    p1, p2, p3 = (_norm(p) for p in pages)
    assert "Piccadilly Gate" in p1 and "Piccadilly Gate" not in p2
    assert "Running header" not in p1 and "Running header" in p2 and "Running header" in p3
    for n, p in enumerate((p1, p2, p3), start=1):
        assert f"Page {n} of 3" in p
        assert "www.example.org second line" in p
    assert p1.count("\u25fc") == 2  # two top-level bullets
    assert "\u2013 sub item" in p1
    assert "1. numbered one" in p1 and "Overall effectiveness Good" in p1
    assert "- not a bullet" in p2
    assert "last page" in p3


def test_render_is_deterministic(tmp_path):
    markup = SAMPLE_FILES[0].read_text(encoding="utf-8")
    a = render.render_letter(markup, tmp_path / "a.pdf").read_bytes()
    b = render.render_letter(markup, tmp_path / "b.pdf").read_bytes()
    assert a == b
    assert a.startswith(b"%PDF-")


@pytest.mark.parametrize("glyph", ["\u2022", "\u25fc", "\u25aa", "\uf0b7"])
@pytest.mark.parametrize("mode", ["auto", "shape"])
def test_bullet_glyph_survives_extraction(tmp_path, glyph, mode):
    markup = (f"bullet: {glyph}\nbullet_mode: {mode}\n---\n"
              "- first item\n- second item which is a little longer\n")
    out = render.render_letter(markup, tmp_path / "g.pdf")
    text = render.page_texts(out)[0]
    assert text.count(glyph) == 2
    assert "first item" in text


def test_long_bullet_splits_over_page_break_with_furniture_between(tmp_path):
    filler = "\n\n".join("Paragraph %d. " % i + "Words to fill the page. " * 12 for i in range(9))
    long_item = " ".join(f"Sentence number {i} of the very long bullet." for i in range(60))
    markup = ("bullet: \u2022\npage_numbers: page-of\nfooter: www.example.org/footer\n"
              "header: Running header\n---\n" + filler + "\n\n- short item\n- " + long_item + "\n- last item\n")
    out = render.render_letter(markup, tmp_path / "split.pdf")
    pages = render.page_texts(out)
    split = render.split_items(markup, out)
    assert split, "the long bullet should run over a page break"
    block, first, last = split[0]
    assert block.plain.startswith("Sentence number 0")
    assert last == first + 1
    # the second half carries no bullet glyph of its own, and the furniture of
    # both pages lies between the two halves in reading order
    second = pages[last - 1]
    assert "Running header" in second and f"Page {last} of {len(pages)}" in second
    head = _norm(second).split("Sentence number", 1)[0]
    assert "\u2022" not in head


# ---------------------------------------------------------------------------
# the invented samples


def test_samples_present():
    assert len(SAMPLE_FILES) >= 6
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert "invented" in readme.lower() and "not crown copyright" in readme.lower()


@pytest.mark.parametrize("src", SAMPLE_FILES, ids=lambda p: p.stem)
def test_sample_renders_deterministically(tmp_path, src):
    markup = src.read_text(encoding="utf-8")
    opts, blocks = render.parse_markup(markup)
    out = render.render_letter(markup, tmp_path / (src.stem + ".pdf"))
    pages = render.page_texts(out)
    assert 3 <= len(pages) <= 6
    text = "\n".join(pages)
    # every top-level bullet shows its glyph once
    n_bullets = sum(1 for b in blocks if b.kind == "bullet" and b.level == 0)
    assert n_bullets >= 3
    assert text.count(opts.bullet) == n_bullets
    if opts.page_numbers == "page-of":
        for n in range(1, len(pages) + 1):
            assert f"Page {n} of {len(pages)}" in pages[n - 1]
    # rendering is deterministic: the same markup gives the same bytes
    again = render.render_letter(markup, tmp_path / (src.stem + ".again.pdf"))
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize("src", SAMPLE_FILES, ids=lambda p: p.stem)
def test_sample_has_bullet_split_across_pages(tmp_path, src):
    markup = src.read_text(encoding="utf-8")
    out = render.render_letter(markup, tmp_path / (src.stem + ".pdf"))
    split = [s for s in render.split_items(markup, out) if s[0].kind == "bullet"]
    assert split, f"no bullet of {src.name} runs over a page break"


# ---------------------------------------------------------------------------
# plain text -> markup


def test_markup_from_plain_small():
    plain = ("1 May 2010\n\nMr A Person\nDirector\n\nDear Mr Person\n\n"
             "Strengths\n\n- First strength.\n- Second strength that was split by\n\n\n\n"
             "a page break in the extracted text.\n\n2\n\nYours sincerely\n")
    markup = render.markup_from_plain(plain)
    _, blocks = render.parse_markup(markup)
    assert [(b.kind, b.plain) for b in blocks] == [
        ("para", "1 May 2010"),
        ("para", "Mr A Person Director"),
        ("para", "Dear Mr Person"),
        ("heading", "Strengths"),
        ("bullet", "First strength."),
        ("bullet", "Second strength that was split by a page break in the extracted text."),
        ("para", "Yours sincerely"),
    ]


@pytest.mark.skipif(not SEED.is_dir(), reason="../shared/seed not available")
def test_seed_letter_renders(tmp_path):
    seeds = sorted(SEED.glob("*.txt"))
    if not seeds:
        pytest.skip("no seed letters")
    for seed in seeds:
        plain = seed.read_text(encoding="utf-8")
        markup = render.markup_from_plain(plain)
        _, blocks = render.parse_markup(markup)
        out = render.render_letter(markup, tmp_path / (seed.stem + ".pdf"))
        pages = render.page_texts(out)
        assert len(pages) >= 1
        text = "\n".join(pages)
        n_items = sum(1 for line in plain.splitlines() if line.startswith("- "))
        assert sum(1 for b in blocks if b.kind == "bullet") == n_items
        assert text.count("\u2022") == n_items
        headings = [b.plain for b in blocks if b.kind == "heading"]
        for h in headings:
            assert _norm(h) in _norm(text)
