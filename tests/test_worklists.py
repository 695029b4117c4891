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
        if due and due.start == "item.date":
            assert rule.for_each is not None, rule.id


def test_a_row_says_what_to_do_and_when_it_was_due(run_dir):
    row = next(r for r in _rows(run_dir) if r["Case"] == "DBY-0002" and r["Rule"] == "4.3-failure-answered")

    # the unacceptable absence on Tuesday 2015-08-18, answered within 5 working days: by Tuesday 2015-08-25
    assert row["What to do"] == "Answer the failure to comply with a warning or breach action: overdue since 2015-08-25"
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
