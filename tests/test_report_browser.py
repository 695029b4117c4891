"""report.html in a real browser (Debian's chromium, driven by Playwright): no errors, every criterion, filters, escaping."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa_engine.records.generate import DEFAULT_UNTIL
from qa_engine.report import build_report
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_CASELOAD

pytestmark = pytest.mark.browser
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
INJECTED = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed: apt-get install chromium (CI's .ci/run does this)")
    return path


@pytest.fixture(name="report_page")
def _report_page(tmp_path):
    records = [json.loads(line) for line in EXAMPLE_CASELOAD.read_text().splitlines()]
    records[1]["team"] = INJECTED[:64]
    records[1]["assessments"][0]["factors"][0]["category"] = INJECTED[:64]
    records[1]["contacts"][0]["note"] = INJECTED
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    audit([str(path)], tmp_path / "run", as_of=DEFAULT_UNTIL)
    build_report(tmp_path / "run")
    return tmp_path / "run" / "report.html"


def test_report_in_chromium(report_page):
    """No console errors or network requests; every criterion shown; a filter changes the rows; injected markup is text."""
    from playwright.sync_api import sync_playwright

    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(report_page.as_uri())

        criteria = page.locator("details.criterion").count()
        bars = page.locator("svg.chart g.bar").count()
        total = page.locator("table.cases tbody tr").count()
        problems = page.locator("table.cases tbody tr:not([data-outcome=met])").count()
        visible_before = page.locator("table.cases tbody tr:not([hidden])").count()
        visible_met = page.locator("table.cases tbody tr[data-outcome=met]:not([hidden])").count()
        checked = {o: page.locator(f"input[data-outcome={o}]").is_checked()
                   for o in ("not_met", "insufficient_data", "met")}
        page.check("input[data-outcome=met]")
        visible_all = page.locator("table.cases tbody tr:not([hidden])").count()
        page.uncheck("input[data-outcome=met]")
        page.select_option("select[data-filter=manager]", "CM-01")
        visible_after = page.locator("table.cases tbody tr:not([hidden])").count()
        page.select_option("select[data-filter=manager]", "")
        pwned = page.evaluate("window.__pwned === undefined")
        team_options = page.locator("select[data-filter=team] option").all_inner_texts()
        legend = page.locator(".legend").inner_text()
        swatches = page.evaluate("""Object.fromEntries(Array.from(document.querySelectorAll('.legend .swatch'))
            .map(s => [s.classList[1], getComputedStyle(s).backgroundColor]))""")
        bar_list = page.evaluate("""Array.from(document.querySelectorAll('svg.chart g.bar')).filter(g => g.querySelector('rect'))
            .map(g => ({percent: Number(g.querySelector('rect').dataset.percent), kind: g.querySelector('rect').classList[0],
                        fill: getComputedStyle(g.querySelector('rect')).fill,
                        label: g.querySelector('text.label').textContent}))""")
        first = page.locator("details.criterion").first
        first.evaluate("d => d.open = true")
        first_rows = first.locator("table.cases tbody tr:not([hidden])").count()
        with page.expect_download() as download_info:
            first.locator("button.download").click()
        downloaded = Path(download_info.value.path()).read_text(encoding="utf-8-sig").splitlines()
        ARTEFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "report.png"), full_page=False)
        browser.close()

    assert [] == errors
    assert [] == requests
    assert 14 == criteria == bars
    # the page starts on the problems: not met and insufficient data, met rows a tick away
    assert checked == {"not_met": True, "insufficient_data": True, "met": False}
    assert 0 < visible_before == problems < visible_all <= total  # met rows shown too, 100 a page
    assert visible_met == 0
    assert 0 < visible_after < visible_before
    # the legend states the thresholds, and every bar's colour and label agree with it exactly
    assert "80% or more good enough" in legend and "65% up to 80%" in legend and "under 65%" in legend
    assert bar_list
    for bar in bar_list:
        expected = "strong" if bar["percent"] >= 80 else ("weak" if bar["percent"] < 65 else "middle")
        assert bar["kind"] == expected, bar
        assert bar["fill"] == swatches[expected], bar
        assert bar["label"].startswith(f"{bar['percent']}% ")
    # the rows shown can be downloaded, built by the page itself (no request was made: see above)
    assert downloaded[0].startswith('"Case","Team"')
    assert len(downloaded) == first_rows + 1
    assert pwned
    assert INJECTED[:64] in team_options


def test_the_filter_bar_never_covers_what_a_link_or_jump_leads_to(report_page):
    """The filter bar sticks to the top of the window: a criterion opened from the chart, from a link to it
    (report.html#criterion-4.3) or on a narrow window where the bar wraps onto several lines starts below the bar."""
    from playwright.sync_api import sync_playwright

    below = """(id) => {
        const bar = document.querySelector('.filters').getBoundingClientRect();
        const target = document.getElementById(id);
        return {open: target.open, top: target.getBoundingClientRect().top, barBottom: bar.bottom, barTop: bar.top};
    }"""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        for width in (1280, 560):  # at 560 pixels the bar wraps onto several lines
            page = browser.new_page(viewport={"width": width, "height": 700})
            page.goto(report_page.as_uri())
            page.locator("svg.chart a[href='#criterion-4.3']").click()
            page.wait_for_function("location.hash === '#criterion-4.3'")
            clicked = page.evaluate(below, "criterion-4.3")
            page.close()
            page = browser.new_page(viewport={"width": width, "height": 700})  # opened at the link, as from a bookmark
            page.goto(report_page.as_uri() + "#criterion-2.1")
            page.wait_for_timeout(100)
            jumped = page.evaluate(below, "criterion-2.1")
            page.close()
            for where in (clicked, jumped):
                assert where["open"], (width, where)
                assert where["barTop"] == 0, (width, where)  # the bar is stuck at the top: the case that covered
                assert where["barBottom"] <= where["top"] <= where["barBottom"] + 40, (width, where)  # just below it
        browser.close()
