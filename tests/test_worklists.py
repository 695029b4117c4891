"""Worklists say what to do and by when (from each rule's action), in date cells, by case manager and by team,
and the same run gives the same bytes."""

from __future__ import annotations

import csv
import datetime as dt
import time
from typing import ClassVar

import pytest

from qa_engine.report import REPORT_FILES, build_report
from qa_engine.report.actions import to_do
from qa_engine.rulepack.load import load_rules
from qa_engine.rulepack.model import Action
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_CASELOAD

AS_OF = dt.date(2016, 2, 15)


@pytest.fixture(name="run_dir", scope="module")
def _run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    audit([str(EXAMPLE_CASELOAD)], out, as_of=AS_OF, report=True, jobs=1)
    return out


def _rows(run_dir):
    with (run_dir / "worklist.csv").open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_every_rule_says_what_to_do_and_from_which_parameter():
    for rule in load_rules().rules:
        assert rule.action is not None, rule.id
        assert rule.action.do[0].isupper() and not rule.action.do.endswith("."), rule.id
        due = rule.action.due
        for amount in (due.working_days, due.months) if due else ():
            if isinstance(amount, dict):
                assert amount["param"] in rule.parameters, rule.id
        for amounts in due.for_order_type.values() if due else ():
            for amount in (amounts.working_days, amounts.months):
                if isinstance(amount, dict):
                    assert amount["param"] in rule.parameters, rule.id
        if due and due.start == "item.date":
            assert rule.for_each is not None, rule.id
        # a deadline counted from the order (the rule's clock) has a real due date, never "due now"
        if rule.clock and all(c.runs_from == "order_made" for c in rule.clock.values()) \
                and "deadline_working_days" in rule.parameters:
            assert due is not None and due.start == "sentence_date", rule.id


def test_start_of_order_deadlines_show_the_day_they_fell_due_and_how_late(run_dir):
    """The start-of-order assessment and plans fall due 15 working days after the order (a referral order's 20): the
    worklist shows that day, and how many working days late it is by the audit date, the same count the rule judged
    (working days since the order, less the deadline)."""
    import json

    rows = {(r["Case"], r["Rule"]): r for r in _rows(run_dir)}
    # a youth rehabilitation order made on Friday 7 August 2015: 15 working days is Friday 28 August
    yro = rows["DBY-0002", "1.1-initial-assessment-timely"]
    assert (yro["Due by"], yro["What to do"]) == ("2015-08-28", "Complete the start-of-order assessment, or, if it was "
                                                  "completed late, record why: due 2015-08-28, overdue by 117 working days")
    # a referral order made on Monday 20 July 2015: 20 working days is Monday 17 August
    assert rows["DBY-0017", "1.1-initial-assessment-timely"]["Due by"] == "2015-08-17"
    assert rows["DBY-0018", "1.2-plan-timely"]["What to do"].endswith(": due 2015-09-17, overdue by 104 working days")
    findings = [json.loads(line) for line in (run_dir / "findings.jsonl").read_text().splitlines()]
    checked = 0
    for f in findings:
        if f["outcome"] != "not_met" or "working_days_since_sentence" not in f["evidence"]:
            continue
        used = f["evidence"]["parameters"]
        deadline = used["referral_order_deadline_working_days" if f["order_type"] == "referral_order"
                        and "referral_order_deadline_working_days" in used else "deadline_working_days"]
        late = f["evidence"]["working_days_since_sentence"] - deadline
        assert rows[f["case_id"], f["rule_id"]]["What to do"].endswith(f"overdue by {late} working days"), f
        checked += 1
    assert checked >= 20
    reviews = [r for (_, rule), r in rows.items() if rule == "1.2-plan-reviewed"]
    assert reviews and all(r["What to do"].endswith(": due now") for r in reviews)  # no date to count from


def test_a_row_says_what_to_do_and_when_it_was_due(run_dir):
    row = next(r for r in _rows(run_dir) if r["Case"] == "DBY-0002" and r["Rule"] == "4.3-failure-answered")

    # the unacceptable absence on Tuesday 2015-08-18, answered within 5 working days: by Tuesday 2015-08-25
    assert row["What to do"] == ("Answer the failure to comply with a warning or breach action: due 2015-08-25, "
                                 "overdue by 120 working days")
    assert row["Due by"] == "2015-08-25"
    assert all(r["What to do"] and r["What to do"] != r["Rule"] for r in _rows(run_dir))


def test_due_dates_skip_bank_holidays_and_follow_the_parameters_used():
    action = Action.model_validate({"do": "Follow it up", "due": {"from": "item.date", "working_days": {"param": "n"}}})

    class Finding:
        sentence_date = "2015-08-01"
        evidence: ClassVar[dict] = {"items": [{"date": "2015-08-28"}, {"date": "2015-09-30"}], "parameters": {"n": 1}}

    from qa_engine.base.calendar import WorkingCalendar

    # Friday 28 August 2015, then the summer bank holiday on Monday 31 August: one working day is 1 September
    assert to_do(action, Finding(), AS_OF, WorkingCalendar()).due == dt.date(2015, 9, 1)
    Finding.evidence = {"items": [{"date": "2015-08-28"}], "parameters": {}}
    assert to_do(action, Finding(), AS_OF, WorkingCalendar()).text == "Follow it up: due now"


def test_dates_are_date_cells_and_sheets_are_per_case_manager_and_team(run_dir):
    from openpyxl import load_workbook

    book = load_workbook(run_dir / "worklist.xlsx")
    rows = _rows(run_dir)
    managers = sorted({r["Case manager"] for r in rows})
    teams = sorted({r["Team"] for r in rows})

    assert book.sheetnames == managers + [f"Team {t}" for t in teams]
    team = book["Team North"]
    assert team.max_row - 1 == sum(1 for r in rows if r["Team"] == "North")
    header = [c.value for c in team[1]]
    for column in ("Sentence date", "Due by"):
        cell = team.cell(row=2, column=header.index(column) + 1)
        assert isinstance(cell.value, dt.datetime), column
        assert cell.number_format == "yyyy-mm-dd"
    assert book.properties.modified == dt.datetime(2016, 2, 15)


def test_the_same_run_gives_the_same_bytes(run_dir):
    before = {name: (run_dir / name).read_bytes() for name in REPORT_FILES}
    time.sleep(1.1)  # into another second: a workbook that stored the clock would differ
    build_report(run_dir)

    assert before == {name: (run_dir / name).read_bytes() for name in REPORT_FILES}


@pytest.mark.slow
def test_jobs_1_and_2_give_the_same_report_bytes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    audit([str(EXAMPLE_CASELOAD)], one, as_of=AS_OF, report=True, jobs=1)
    time.sleep(1.1)
    audit([str(EXAMPLE_CASELOAD)], two, as_of=AS_OF, report=True, jobs=2)

    for name in (*REPORT_FILES, "findings.jsonl", "summary.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_every_sheet_prints_landscape_one_page_wide_with_its_header_on_each_page(run_dir):
    """Printed, a worklist was 50 portrait pages for 138 rows, its columns split across pages; each sheet now fits the
    page's width in landscape, the header row repeated on every page."""
    from openpyxl import load_workbook

    book = load_workbook(run_dir / "worklist.xlsx")
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0), sheet.title
        assert sheet.print_title_rows == "$1:$1", sheet.title
