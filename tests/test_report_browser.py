"""The report site in a real browser: headless Chromium driven by selenium and the system
chromedriver (Debian's chromium and chromium-driver; .ci/run installs them).

The site is built from the invented demo store (scripts/demo_store.py) and opened from
file://.  The tests check the contract the site's script must keep: sortable tables,
the authority search, collapsible inspections, nothing fetched from outside file://, no
JavaScript errors, and screenshots that are not blank."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[1]

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        f"no system Chromium: needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

from letterparse import __version__  # noqa: E402

FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--window-size=1280,1600",
)
NEWHAM = "E09000025"
MARKUP = "<insert child's name>"  # an invented finding that contains markup-like text


def load_demo():
    """Import scripts/demo_store.py (scripts/ is not a package)."""
    name = "letterparse_demo_store"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "demo_store.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


DEMO = load_demo()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The demo store and the report site built from it with `letterparse report`."""
    from typer.testing import CliRunner

    from letterparse.cli import app

    tmp = tmp_path_factory.mktemp("report-site")
    store = tmp / "demo.duckdb"
    DEMO.build(store)
    out = tmp / "site"
    result = CliRunner().invoke(app, ["report", str(store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file() and (out / "authority" / f"{NEWHAM}.html").is_file()
    return out


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")  # Selenium Manager must never go to the network
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        d = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    d.set_page_load_timeout(30)
    yield d
    d.quit()


def page(site: Path, name: str) -> str:
    return (site / name).as_uri()


def index(driver, site):
    driver.get(page(site, "index.html"))
    return driver.find_element(By.CSS_SELECTOR, "table#authorities.sortable")


def rows(table):
    return table.find_elements(By.CSS_SELECTOR, "tbody tr")


# --- sorting -----------------------------------------------------------------------------


def cell_key(cell) -> str:
    value = cell.get_attribute("data-value")
    return (cell.get_attribute("textContent") if value is None else value).strip()


def number(key: str) -> float | None:
    try:
        return float(key)
    except ValueError:
        return None


def in_order(a: str, b: str, descending: bool) -> bool:
    """Whether key ``a`` may come before ``b``: numbers numerically, else text; empty cells last."""
    if not a or not b:
        return bool(a) or not b  # an empty cell may only come before another empty cell
    x, y = number(a), number(b)
    if x is not None and y is not None:
        return x >= y if descending else x <= y
    a, b = a.casefold(), b.casefold()
    return a >= b if descending else a <= b


def column_keys(table, col: int) -> list[str]:
    return [cell_key(r.find_elements(By.CSS_SELECTOR, "td, th")[col]) for r in rows(table)]


def row_names(table) -> list[str]:
    return [r.get_attribute("textContent") for r in rows(table)]


def test_clicking_a_header_sorts_the_authorities_both_ways(driver, site):
    table = index(driver, site)
    headers = table.find_elements(By.CSS_SELECTOR, "thead th")
    initial = row_names(table)
    assert len(initial) == len(DEMO.AUTHORITIES) and len(headers) >= 3
    changed = sorted_columns = 0
    for col, th in enumerate(headers):
        th.click()
        asc = column_keys(table, col)
        assert th.get_attribute("aria-sort") == "ascending", th.text
        assert all(in_order(a, b, False) for a, b in zip(asc, asc[1:])), (th.text, asc)
        asc_rows = row_names(table)
        th.click()
        desc = column_keys(table, col)
        assert th.get_attribute("aria-sort") == "descending", th.text
        assert all(in_order(a, b, True) for a, b in zip(desc, desc[1:])), (th.text, desc)
        others = [h.get_attribute("aria-sort") for h in headers if h != th]
        assert not {"ascending", "descending"} & set(others), (th.text, others)
        if len({k for k in asc if k}) > 1:
            sorted_columns += 1
            assert row_names(table) != asc_rows, f"clicking {th.text!r} again did not reverse the rows"
        changed += asc_rows != initial or row_names(table) != initial
    assert sorted_columns >= 3 and changed >= 3, (sorted_columns, changed)


def first_column(table) -> list[str]:
    return [a.text for a in table.find_elements(By.CSS_SELECTOR, "tbody tr > :first-child a")]


def test_name_column_sorts_alphabetically(driver, site):
    table = index(driver, site)
    th = table.find_elements(By.CSS_SELECTOR, "thead th")[0]
    th.click()
    if th.get_attribute("aria-sort") != "ascending":
        th.click()
    assert first_column(table) == sorted(DEMO.AUTHORITIES, key=str.casefold)
    th.click()
    assert first_column(table) == sorted(DEMO.AUTHORITIES, key=str.casefold, reverse=True)


# --- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("NORTHAMPTON", {"Northamptonshire", "North Northamptonshire", "West Northamptonshire"}),
    ("newham", {"Newham"}),
    ("zzzz-no-such-authority", set()),
])
def test_search_filters_the_authorities(driver, site, query, expected):
    table = index(driver, site)
    search = driver.find_element(By.CSS_SELECTOR, 'input[type="search"].filter[data-table="authorities"]')
    search.send_keys(query)
    shown = [r for r in rows(table) if r.is_displayed()]
    hidden = [r for r in rows(table) if not r.is_displayed()]
    assert {r.find_element(By.CSS_SELECTOR, "a").text for r in shown} == expected
    assert all(query.casefold() in r.get_attribute("textContent").casefold() for r in shown)
    assert all(r.get_attribute("hidden") is not None for r in hidden)
    assert all(query.casefold() not in r.get_attribute("textContent").casefold() for r in hidden)
    assert len(shown) + len(hidden) == len(DEMO.AUTHORITIES)
    search.send_keys(Keys.BACKSPACE * len(query))  # emptied: every row comes back
    assert all(r.is_displayed() for r in rows(table))


# --- authority page ----------------------------------------------------------------------


def letters_of(ons: str):
    return [l for l in DEMO.letters() if l.authority.ons_code == ons]


def judgement_ids(letter) -> set[str]:
    return {f"f-{letter.source.sha256[:16]}-{f.id}" for s in letter.sections if s.role == "judgement"
            for f in s.findings}


def test_authority_link_opens_its_page(driver, site):
    table = index(driver, site)
    link = next(a for a in table.find_elements(By.CSS_SELECTOR, "tbody a") if a.text == "Newham")
    assert link.get_attribute("href").endswith(f"authority/{NEWHAM}.html")
    link.click()
    assert driver.current_url == page(site, f"authority/{NEWHAM}.html")
    assert "Newham" in driver.title
    assert "Newham" in driver.find_element(By.TAG_NAME, "h1").text
    assert __version__ in driver.find_element(By.TAG_NAME, "footer").text
    marks = driver.find_elements(By.CSS_SELECTOR, "svg.timeline title")
    assert len(marks) >= len(letters_of(NEWHAM))


def test_inspection_opens_on_click_and_shows_its_findings(driver, site):
    driver.get(page(site, f"authority/{NEWHAM}.html"))
    details = driver.find_elements(By.CSS_SELECTOR, "details.inspection")
    docs = {l.source.sha256[:16]: l for l in letters_of(NEWHAM)}
    assert len(details) == len(docs)
    assert all(d.get_attribute("open") is None for d in details)
    for d in details:
        items = d.find_elements(By.CSS_SELECTOR, "li.finding")
        assert items and not any(li.is_displayed() for li in items)
        d.find_element(By.TAG_NAME, "summary").click()
        assert d.get_attribute("open") is not None
        assert all(li.is_displayed() for li in items)
        ids = {li.get_attribute("id") for li in items}
        sha16 = next(iter(ids)).split("-")[1]
        letter = docs[sha16]
        assert ids == judgement_ids(letter)  # every judgement finding, no context finding
        texts = {f.id: f.text for f in letter.findings}
        for li in items:
            assert texts[li.get_attribute("id").split("-", 2)[2]] in li.text


def test_markup_in_a_finding_shows_as_text(driver, site):
    letter = next(l for l in DEMO.letters() if any(MARKUP in f.text for f in l.findings))
    finding = next(f for f in letter.findings if MARKUP in f.text)
    driver.get(page(site, f"authority/{letter.authority.ons_code}.html"))
    li = driver.find_element(By.ID, f"f-{letter.source.sha256[:16]}-{finding.id}")
    details = li.find_element(By.XPATH, "ancestor::details")
    details.find_element(By.TAG_NAME, "summary").click()
    assert MARKUP in li.text
    assert not driver.find_elements(By.TAG_NAME, "insert")


# --- nothing leaves file://, no script errors, not blank ---------------------------------


def visit_everything(driver, site) -> None:
    """Load both pages and use every interactive part once."""
    table = index(driver, site)
    table.find_elements(By.CSS_SELECTOR, "thead th")[1].click()
    driver.find_element(By.CSS_SELECTOR, "input.filter").send_keys("new")
    driver.get(page(site, f"authority/{NEWHAM}.html"))
    for d in driver.find_elements(By.CSS_SELECTOR, "details.inspection"):
        d.find_element(By.TAG_NAME, "summary").click()
    for th in driver.find_elements(By.CSS_SELECTOR, "table.sortable thead th")[:3]:
        th.click()


def requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_no_request_leaves_file_urls(driver, site):
    driver.get_log("performance")  # drop what earlier tests left
    visit_everything(driver, site)
    urls = requested_urls(driver)
    assert any(u.endswith("/assets/report.js") for u in urls) and any(u.endswith("/index.html") for u in urls), urls
    assert [u for u in urls if not u.startswith(("file://", "data:"))] == []


def test_no_javascript_errors(driver, site):
    driver.get_log("browser")
    visit_everything(driver, site)
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    # The log does catch an uncaught error (so the check above can fail).
    driver.execute_script("setTimeout(() => { throw new Error('probe-error') }, 0)")
    driver.execute_async_script("setTimeout(arguments[0], 50)")
    assert any("probe-error" in e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE")


def colours(png: bytes) -> int:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return len(im.convert("RGB").getcolors(maxcolors=1 << 20) or ())


@pytest.mark.parametrize("name", ["index.html", f"authority/{NEWHAM}.html"])
def test_screenshot_is_not_blank(driver, site, name):
    driver.get(page(site, name))
    png = driver.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert colours(png) > 16, "the page renders as (nearly) one colour"
    # and the browser laid out content: the page is taller than a header
    height = driver.execute_script("return document.documentElement.scrollHeight")
    assert height > 600 and re.search(r"\S", driver.find_element(By.TAG_NAME, "body").text)
