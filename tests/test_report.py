"""The report site: the DOM contract the browser tests rely on, escaping, lineage, gaps not
zeros, stable colours, safe replacement of an earlier site; on invented letters (see
test_timeline.letters: Northamptonshire -> North and West Northamptonshire, Newham) and,
marked corpus, on the whole shared corpus."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
from typer.testing import CliRunner

import letterparse
from letterparse import PARSER_VERSION, __version__
from letterparse.cli import app
from letterparse.compare import theme_table
from letterparse.errors import StoreError
from letterparse.report import (
    MARKER, RECENT_YEARS, THEME_COLOURS, ReportError, context, england_runs, page_name, pooled_profile, report,
)
from letterparse.store import open_store
from letterparse.timeline import WEAK, recurring_england
from test_timeline import P, W, doc, letters

TODAY = date(2026, 1, 2)
MARKUP = '<script>alert("x")</script> & <b>bold</b>'
NH, NN, NTH = "E09000025", "E06000061", "E10000021"


class Page(HTMLParser):
    """The tags (with attributes) and text of a page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str, **want) -> list[dict]:
        """The attributes of each ``tag`` that has ``want`` (``class_`` matches one class)."""
        return [a for t, a in self.tags if t == tag and all(self._has(a, k.rstrip("_"), v) for k, v in want.items())]

    @staticmethod
    def _has(attrs: dict, key: str, value: str) -> bool:
        have = attrs.get(key)
        return have is not None and (value in have.split() if key == "class" else have == value)


def invented(tmp: Path) -> list:
    """test_timeline's letters, plus a finding with markup in Newham's 2022 report and a
    real file behind Newham's 2018 report (for source links)."""
    pdf = tmp / "newham 2018.pdf"
    pdf.write_bytes(b"%PDF-1.4 invented\n")
    out = []
    for l in letters():
        if l.source.sha256.startswith("6"):
            f = l.sections[0].findings[0]
            l = l.with_findings({f.id: replace(f, text=MARKUP)})
        if l.source.sha256.startswith("5"):
            l = replace(l, source=replace(l.source, path=str(pdf)))
        out.append(l)
    return out


def write_store(path: Path, items: list) -> Path:
    with open_store(path) as s:
        for l in items:
            s.put_letter(l, PARSER_VERSION, "none")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    store = write_store(tmp / "s.duckdb", invented(tmp))
    result = report(store, tmp / "site", today=TODAY)
    return store, tmp / "site", result


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# --- the contract --------------------------------------------------------------------------


def test_pages_one_per_authority_named_by_ons_code(built):
    _, site, result = built
    names = sorted(p.name for p in (site / "authority").iterdir())
    assert names == sorted(f"{c}.html" for c in (NH, NN, "E06000062", NTH))
    assert (site / "index.html").is_file() and (site / "assets/report.css").is_file() and (site / "assets/report.js").is_file()
    assert (site / MARKER).is_file()
    assert (result.pages, result.authorities) == (5, 4) and result.largest_bytes == max(p.stat().st_size for p in html_pages(site))


@pytest.mark.parametrize(("name", "ons", "expected"), [
    ("Newham", "E09000025", "E09000025.html"),
    ("Bedfordshire", "", "la-bedfordshire.html"),
    ("Bournemouth, Poole & Dorset", None, "la-bournemouth-poole-dorset.html"),
    ("Odd", "E06/../x", "la-odd.html"),
])
def test_page_names(name, ons, expected):
    assert page_name(name, ons) == expected


def test_every_page_has_charset_title_footer_and_the_assets(built, tmp_path):
    store, site, _ = built
    for p in html_pages(site):
        text = p.read_text(encoding="utf-8")
        page = Page(text)
        assert page.all("meta", charset="utf-8"), p
        assert re.search(r"<title>[^<]+</title>", text), p
        footer = text[text.index("<footer>"):text.index("</footer>")]
        assert f"letterparse {__version__}" in footer and f"parser {PARSER_VERSION}" in footer
        assert str(store) in footer and TODAY.isoformat() in footer
        assert page.all("link", rel="stylesheet") and page.all("script")


def test_links_are_relative_and_resolve_and_nothing_is_external(built):
    _, site, _ = built
    for p in html_pages(site):
        text = p.read_text(encoding="utf-8")
        page = Page(text)
        assert "http://" not in text and "https://" not in text, p
        for tag, attrs in page.tags:
            for key in ("href", "src"):
                url = attrs.get(key)
                if url is None or url.startswith("#"):
                    continue
                assert not url.startswith("//") and not re.match(r"https?:", url), (p, url)
                if url.startswith("file:"):
                    assert attrs.get("class") == "source", (p, url)
                    continue
                target = (p.parent / unquote(url.split("#")[0])).resolve()
                assert target.is_file(), (p, url)


def test_index_has_a_searchable_sortable_authority_table_linking_every_page(built):
    _, site, _ = built
    text = read(site, "index.html")
    page = Page(text)
    assert page.all("input", type="search", class_="filter", **{"data-table": "authorities"})
    assert page.all("table", id="authorities", class_="sortable")
    assert text.index('data-table="authorities"') < text.index('id="authorities"')
    assert '<a href="authority/E09000025.html">Newham</a>' in text
    links = {a["href"] for a in page.all("a") if a.get("href", "").startswith("authority/")}
    assert links == {f"authority/{p.name}" for p in (site / "authority").iterdir()}
    # every table a reader can sort is marked so, and its header cells can take focus
    assert len(page.all("table", class_="sortable")) >= 2


def test_authority_page_lists_every_finding_in_closed_details(built):
    store, site, _ = built
    text = read(site, f"authority/{NH}.html")
    page = Page(text)
    details = page.all("details", class_="inspection")
    assert len(details) == 2 and not any("open" in d for d in details)
    assert text.count("<summary>") >= 2
    jf = letterparse.load(store)["judgement_findings"]
    mine = jf[jf["authority"] == "Newham"]
    ids = {li["id"] for li in page.all("li", class_="finding")}
    assert ids == {f"f-{s[:16]}-{f}" for s, f in zip(mine["sha256"], mine["finding_id"])}


def test_source_links_point_at_the_page_of_existing_files_only(built):
    _, site, _ = built
    page = Page(read(site, f"authority/{NH}.html"))
    sources = [a["href"] for a in page.all("a", class_="source")]
    assert sources and all(h.startswith("file:///") and "newham%202018.pdf" in h for h in sources)
    assert any(h.endswith("#page=2") for h in sources)  # the finding's page
    assert not Page(read(site, f"authority/{NN}.html")).all("a", class_="source")  # /x/3.pdf does not exist


def test_markup_in_a_finding_shows_as_text(built):
    _, site, _ = built
    text = read(site, f"authority/{NH}.html")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    assert "<script>alert" not in text and "<b>bold" not in text
    assert MARKUP in "".join(Page(text).text)  # what a reader sees


def test_reorganised_authority_page_includes_its_predecessors_documents(built):
    _, site, _ = built
    nn = Page(read(site, f"authority/{NN}.html"))
    docs = {d["id"] for d in nn.all("details", class_="inspection")}
    assert docs == {"doc-" + "1" * 16, "doc-" + "2" * 16, "doc-" + "3" * 16}
    assert "Northamptonshire" in "".join(nn.text)
    old = read(site, f"authority/{NTH}.html")
    assert 'Replaced by <a href="E06000061.html">North Northamptonshire</a>, <a href="E06000062.html">West Northamptonshire</a>' in old


def test_timeline_marks_every_document_and_draws_ungraded_visits_hollow(built):
    _, site, _ = built
    text = read(site, f"authority/{NN}.html")
    strip = text[text.index('<svg class="timeline"'):]
    strip = strip[:strip.index("</svg>")]
    marks = Page(strip).all("circle")
    assert len(marks) == 3
    hollow = [m for m in marks if "ungraded" in m["class"].split()]
    assert len(hollow) == 1 and hollow[0]["fill"] == "#ffffff"
    titles = re.findall(r"<title>([^<]+)</title>", strip)
    assert titles == ["2016-03-01 · SIF · inadequate · Northamptonshire", "2019-06-01 · focused visit · ungraded · Northamptonshire",
                      "2022-10-01 · ILACS · requires improvement to be good"]
    assert 'class="ungraded"' in text  # and in the grades table


def _panel(text: str, title: str) -> str:
    start = text.index(f'aria-label="{title}')
    return text[start:text.index("</svg>", start)]


def test_a_year_without_documents_is_a_gap_not_a_zero(built):
    _, site, _ = built
    text = read(site, "index.html")
    # ILACS has findings in 2018 and 2022 only: points for those years, no line across the gap
    ilacs = _panel(text, "ILACS")
    years = {int(y) for y in re.findall(r"ILACS (\d{4}):", ilacs)}
    assert years == {2018, 2022}
    assert "<line class=\"seg" not in ilacs
    # documents per year: bars for the years with documents only
    bars = _panel(text, "Documents per framework and year")
    assert {int(y) for y in re.findall(r"<title>(\d{4}): \d+ documents</title>", bars)} == {2016, 2018, 2019, 2022}


def test_thin_groups_are_grey_and_show_their_n(built):
    _, site, _ = built
    text = read(site, "index.html")
    sif = _panel(text, "SIF")  # one SIF document: 2 weakness findings, below min_n
    assert 'class="pt thin"' in sif and "of 2 =" in sif
    assert 'class="pt"' not in sif


def test_theme_colours_are_fixed_per_theme_on_every_page_and_store(built, tmp_path):
    _, site, _ = built
    css = read(site, "assets/report.css")
    for theme, colour in THEME_COLOURS.items():
        assert f".t-{theme}::before {{ background: {colour}; }}" in css
    assert len(set(THEME_COLOURS.values())) == len(THEME_COLOURS)
    index = read(site, "index.html")
    legend = dict(re.findall(r'<li data-key="([a-z_]+)"><span class="swatch" style="background:(#[0-9a-f]{6})', index))
    assert legend["workforce"] == THEME_COLOURS["workforce"]
    assert 'class="chip t-workforce"' in read(site, f"authority/{NN}.html")
    # another store, other themes first: the same colours
    other = write_store(tmp_path / "o.duckdb", [doc("7", "Newham", NH, date(2020, 1, 1), "ilacs", "good",
                                                      [(W, ("child_voice",)), (W, ("workforce",))])])
    report(other, tmp_path / "o", today=TODAY)
    again = dict(re.findall(r'<li data-key="([a-z_]+)"><span class="swatch" style="background:(#[0-9a-f]{6})', read(tmp_path / "o", "index.html")))
    assert again["workforce"] == legend["workforce"] and again["child_voice"] == THEME_COLOURS["child_voice"]


# --- the figures agree with the library ---------------------------------------------------------


def test_theme_profile_pools_the_same_figures_as_theme_table_with_vs(built):
    store, _, _ = built
    frames = letterparse.load(store)
    ctx = context(frames, str(store), None, 10, TODAY)
    for name in ("North Northamptonshire", "Newham"):
        got, first, last = pooled_profile(ctx, ctx.authorities[name])
        jf = frames["judgement_findings"]
        weak = jf[jf["polarity"].isin(WEAK) & jf["year"].between(first, last)].assign(polarity="weakness")
        want = theme_table({"judgement_findings": weak}, by=(), authority=name, vs=("neighbours", "region", "england"),
                           polarity="weakness")
        cols = ["group", "theme", "n", "findings", "share"]
        key = ["group", "theme"]
        assert got[cols].sort_values(key).reset_index(drop=True).equals(
            want[cols].astype({"n": "int64", "findings": "int64"}).sort_values(key).reset_index(drop=True)), name
        assert last - first == RECENT_YEARS - 1
    # West Northamptonshire is its statistical neighbour and in its region: every group is there
    assert set(pooled_profile(ctx, ctx.authorities["North Northamptonshire"])[0]["group"]) == {"authority", "neighbours", "region", "england"}


def test_recurring_shares_match_recurring_england(built):
    store, _, _ = built
    frames = letterparse.load(store)
    ctx = context(frames, str(store), None, 10, TODAY)
    pd.testing.assert_frame_equal(england_runs(ctx.runs, ctx.authorities, ctx.findings), recurring_england(frames),
                                  check_dtype=False)


# --- writing the site safely ------------------------------------------------------------------


def test_an_earlier_report_is_replaced_whole(built, tmp_path):
    store, _, _ = built
    out = tmp_path / "site"
    report(store, out, today=TODAY)
    (out / "authority" / "stale.html").write_text("old")
    report(store, out, today=TODAY)
    assert not (out / "authority" / "stale.html").exists() and (out / MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temporary folders left


@pytest.mark.parametrize("content", ["file", "folder"])
def test_refuses_to_overwrite_a_folder_that_is_not_a_report(built, tmp_path, content):
    store, _, _ = built
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me") if content == "file" else (out / "data").mkdir()
    with pytest.raises(ReportError, match="not a letterparse report"):
        report(store, out, today=TODAY)
    assert sorted(p.name for p in out.iterdir()) == (["notes.txt"] if content == "file" else ["data"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    res = CliRunner().invoke(app, ["report", str(store), "--out", str(out)])
    assert res.exit_code == 1 and res.stderr.count("\n") == 1 and "not a letterparse report" in res.stderr
    assert "Traceback" not in res.output


def test_an_empty_folder_is_fine(built, tmp_path):
    store, _, _ = built
    (tmp_path / "empty").mkdir()
    report(store, tmp_path / "empty", today=TODAY)
    assert (tmp_path / "empty" / "index.html").is_file()


def test_a_failure_leaves_the_previous_site_untouched(built, tmp_path, monkeypatch):
    import letterparse.report as rep

    store, _, _ = built
    out = tmp_path / "site"
    report(store, out, today=TODAY)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(ctx, a):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rep, "authority_page", broken)
    with pytest.raises(RuntimeError):
        report(store, out, today=date(2027, 1, 1))
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    with pytest.raises(RuntimeError):
        report(store, tmp_path / "new", today=TODAY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_cli_writes_the_site(built, tmp_path):
    store, _, _ = built
    res = CliRunner().invoke(app, ["report", str(store), "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert "5 pages (4 authorities)" in res.stderr and (tmp_path / "s" / "authority" / f"{NH}.html").is_file()


def test_store_without_letters_or_views_is_one_error_line(tmp_path):
    empty = write_store(tmp_path / "e.duckdb", [])
    res = CliRunner().invoke(app, ["report", str(empty), "--out", str(tmp_path / "s")])
    assert res.exit_code == 1 and res.stderr == f"Error: {empty}: the store has no letters\n"
    assert not (tmp_path / "s").exists()
    frames = {k: v for k, v in letterparse.load(write_store(tmp_path / "f.duckdb", letters())).items() if k != "inspections"}
    with pytest.raises(StoreError, match="lacks inspections"):
        report(frames, tmp_path / "s")
    res = CliRunner().invoke(app, ["report", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "s")])
    assert res.exit_code == 1 and "no such store" in res.stderr and "Traceback" not in res.output


# --- the whole shared corpus -------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_site(corpus_store, corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus-report") / "site"
    return report(corpus_store, out, corpus_root=corpus), corpus_store


@pytest.mark.corpus
@pytest.mark.slow
def test_corpus_site_pages_are_small_and_complete(corpus_site):
    result, store = corpus_site
    site = result.out_dir
    sizes = {p.name: p.stat().st_size for p in html_pages(site)}
    assert max(sizes.values()) <= 1_000_000, max(sizes.items(), key=lambda kv: kv[1])
    ins = letterparse.load(store)["inspections"]
    pages = {p.name for p in (site / "authority").iterdir()}
    assert len(pages) == ins["authority"].nunique() == result.authorities
    index = Page(read(site, "index.html"))
    links = {a["href"] for a in index.all("a") if a.get("href", "").startswith("authority/")}
    assert links == {f"authority/{p}" for p in pages}
    assert result.seconds < 60
