"""One title for one run: report.md, report.html, the worklist workbook and the case-audit form name it the same way
(report/titles.py), so a manager holding any two can tell they belong together."""

from __future__ import annotations

import datetime as dt
import html
import re

from openpyxl import load_workbook

from qa_engine.report.auditform import write_audit_forms
from qa_engine.report.titles import report_title
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD, EXAMPLES

TITLE = "Short Quality Screening self-assessment: Example YOS, as of 2016-02-15"


def test_every_output_heads_with_the_same_title(tmp_path):
    run = tmp_path / "run"
    result = audit([str(EXAMPLE_CASELOAD)], run, as_of=dt.date.fromisoformat(EXAMPLE_AS_OF),
                   policy_path=EXAMPLES / "policy.yaml", report=True)
    assert report_title(result.run) == TITLE

    assert (run / "report.md").read_text(encoding="utf-8").splitlines()[0] == f"# {TITLE}"
    page = (run / "report.html").read_text(encoding="utf-8")
    assert html.unescape(re.search(r"<head>.*?<title>(.*?)</title>", page, re.S)[1]) == TITLE
    assert [html.unescape(t) for t in re.findall(r"<h1>(.*?)</h1>", page)] == [TITLE]

    book = load_workbook(run / "worklist.xlsx")
    assert book.properties.title == f"{TITLE}: worklist"
    assert {sheet.oddHeader.center.text for sheet in book.worksheets} == {f"{TITLE}: worklist, &A"}

    write_audit_forms(run, tmp_path / "form.xlsx")
    form = load_workbook(tmp_path / "form.xlsx")
    assert form.properties.title == f"{TITLE}: case audit form"
    assert form["Cover"]["A2"].value.startswith(f"{TITLE}. A self-assessment against")


def test_a_run_without_a_service_name_is_named_for_the_service_all_the_same():
    assert report_title({"as_of": "2016-02-15", "policy": {}}) == (
        "Short Quality Screening self-assessment: the youth offending service, as of 2016-02-15")
    # an ampersand in a service's name is printed as itself, not read as a header code
    from qa_engine.report.worklist import _print_text

    assert _print_text("Tees & Avon YOS") == "Tees && Avon YOS"
