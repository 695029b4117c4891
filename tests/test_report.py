"""The report of a finished run: report.md in the SQS letter's shape, worklists, sampling, rebuilding and comparing."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from qa_engine.base.errors import InputError
from qa_engine.cli import cli
from qa_engine.report import REPORT_FILES, build_report, load_run
from qa_engine.report.narrative import choose, in_words
from qa_engine.report.worklist import safe_cell
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD

AS_OF = dt.date(2016, 2, 15)


@pytest.fixture(name="run_dir", scope="module")
def _run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    audit([str(EXAMPLE_CASELOAD)], out, as_of=AS_OF)
    build_report(out)
    return out


def test_audit_writes_the_report_by_default(tmp_path):
    """qa-engine audit writes report.md, report.html, worklist.csv and worklist.xlsx unless --no-report."""
    runner = CliRunner()
    runner.invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF, "--out", str(tmp_path / "a")])
    runner.invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF, "--out", str(tmp_path / "b"),
                        "--no-report"])

    assert set(REPORT_FILES) <= {p.name for p in (tmp_path / "a").iterdir()}
    assert not set(REPORT_FILES) & {p.name for p in (tmp_path / "b").iterdir()}


def test_markdown_follows_the_letter(run_dir):
    """report.md has the SQS letter's sections and numbered criteria, says it is a draft, and gives counts."""
    text = (run_dir / "report.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]

    assert "Draft for the manager to edit" in text
    assert ["## Context", "## Summary", "## 1. Reducing reoffending", "## 2. Protecting the public",
            "## 3. Protecting the child or young person", "## 4. Ensuring that the sentence is served",
            "## Operational management", "## Key strengths", "## Areas requiring improvement",
            "## How this draft was produced"] == headings
    for number in ("1.1.", "1.2.", "1.3.", "2.1.", "2.2.", "2.3.", "3.1.", "3.2.", "3.3.", "3.4.", "4.1.", "4.2.", "4.3."):
        assert f"\n{number} " in text
    assert "95% interval" in text


def test_strengths_and_areas_follow_the_documented_rule(run_dir):
    """Strengths are criteria at 80% or more, areas under 65%, each with at least 5 judged cases."""
    strengths, areas = choose(load_run(run_dir).summary)

    assert strengths and areas
    assert all(c.criterion.proportion_met >= 0.8 for c in strengths)
    assert all(c.criterion.proportion_met < 0.65 for c in areas)
    assert all(c.criterion.met + c.criterion.not_met >= 5 for c in strengths + areas)


@pytest.mark.parametrize(("k", "n", "expected"), [(20, 30, "two-thirds of the 30 cases"), (12, 12, "all 12 cases"),
                                                   (4, 34, "4 of the 34 cases"), (0, 5, "none of the 5 cases"),
                                                   (1, 2, "1 of the 2 cases"), (31, 34, "all but 3 of the 34 cases"),
                                                   (10, 34, "nearly one-third of the 34 cases"),
                                                   (1, 1, "the only case")])
def test_in_words(k, n, expected):
    """Words for the proportion, digits for every count: never 'one of the 2 cases'."""
    assert expected == in_words(k, n)


NUMBER_WORDS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine) (of the|cases?\b|further|more)")


def test_report_md_gives_every_rule_with_counts_interval_and_severity(run_dir):
    """Every rule of every criterion appears once, with its counts, its proportion in words, interval and severity."""
    text = (run_dir / "report.md").read_text()
    summary = load_run(run_dir).summary
    for rule in summary.rules:
        lines = [line for line in text.splitlines() if f"({rule.rule_id}; {rule.severity} severity)" in line]
        assert len(lines) == 1, rule.rule_id
        judged = rule.met + rule.not_met
        if judged:
            assert f"({rule.met} of {judged} met; 95% interval " in lines[0]
            assert in_words(rule.not_met or rule.met, judged) in lines[0]
        else:
            assert "no case could be judged" in lines[0]
    failure = next(r for r in summary.rules if r.rule_id == "4.3-failure-answered")
    assert failure.not_met and failure.severity == "high"


def test_report_md_writes_numbers_one_way(run_dir):
    """No count in words next to a count in digits ('one of the 2 cases'), nor a count in words at all."""
    text = (run_dir / "report.md").read_text()
    assert not NUMBER_WORDS.findall(text)
    assert "one of the 2" not in text


def test_worklist_csv_is_every_not_met_finding_most_serious_and_oldest_first(run_dir):
    """One row per not-met finding (Kind: practice), high severity first, then the oldest order; then one per
    finding the record could not support (Kind: a record to correct or complete), apart."""
    with (run_dir / "worklist.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    lines = [json.loads(line) for line in (run_dir / "findings.jsonl").read_text().splitlines()]
    not_met = [f for f in lines if f["outcome"] == "not_met"]
    unsupported = [f for f in lines if f["outcome"] == "insufficient_data"]
    rank = {"high": 0, "medium": 1, "low": 2}
    practice = [r for r in rows if r["Kind"] == "Practice: not met"]
    keys = [(rank[r["Severity"]], r["Sentence date"]) for r in practice]

    assert len(not_met) == len(practice)
    assert len(rows) == len(not_met) + len(unsupported)
    assert rows[:len(practice)] == practice
    assert {r["Kind"] for r in rows[len(practice):]} <= {"Record to correct: impossible dates",
                                                         "Record to complete: not recorded"}
    assert keys == sorted(keys)
    assert {"Case manager", "Case", "Rule", "What was found", "What to do", "Due by", "Kind"} <= set(rows[0])


def test_impossible_dates_shown_apart_from_practice(tmp_path, example_records):
    """A plan dated before its order: the finding says so naming both dates, the worklist marks it a record to
    correct, and report.md lists it under the records' data to correct, never as a practice shortfall."""
    records = json.loads(json.dumps(example_records))
    case = records[0]
    made = dt.date.fromisoformat(case["order"]["sentence_date"])
    case["plans"] = [{"plan_id": "P-X", "plan_type": "intervention",
                      "created_date": (made - dt.timedelta(days=40)).isoformat()}]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    audit([str(path)], tmp_path / "run", as_of=AS_OF)
    build_report(tmp_path / "run")
    found = [json.loads(line) for line in (tmp_path / "run" / "findings.jsonl").read_text().splitlines()]
    plan = next(f for f in found if f["case_id"] == case["case_id"] and f["rule_id"] == "1.2-plan-timely")
    with (tmp_path / "run" / "worklist.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Case"] == case["case_id"] and r["Rule"] == "1.2-plan-timely"]
    text = (tmp_path / "run" / "report.md").read_text()

    assert (plan["outcome"], plan["reason_kind"]) == ("insufficient_data", "impossible_dates")
    assert f"before the order it plans for, made on {made.isoformat()}" in plan["message"]
    assert [(r["Kind"], r["Due by"]) for r in rows] == [("Record to correct: impossible dates", "")]
    assert "## The records: data to correct" in text
    assert "1.2-plan-timely (1)" in text


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_formula_like_text_is_neutralised(text):
    """Cells that begin with = + - @ (or a tab) are prefixed so a spreadsheet shows them as text."""
    assert safe_cell(text) == "'" + text
    assert "plain" == safe_cell("plain")


def test_xlsx_sheets_per_case_manager_frozen_and_filtered(tmp_path, example_records):
    """worklist.xlsx has a sheet per case manager with a frozen header and filters; formula-like text stays text."""
    from openpyxl import load_workbook

    records = json.loads(json.dumps(example_records))
    records[1]["team"] = "=cmd|' /C calc'!A0"
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    audit([str(path)], tmp_path / "run", as_of=AS_OF)
    build_report(tmp_path / "run")
    book = load_workbook(tmp_path / "run" / "worklist.xlsx")
    managers = sorted({r.get("case_manager_id") for r in records})
    team_cells = [c for s in book.worksheets for c in s["B"][1:] if str(c.value).startswith("=cmd")]

    assert set(book.sheetnames) - set(managers) <= {"Team North", "Team South", "Team =cmd|' -C calc'!A0"}
    for sheet in book.worksheets:
        assert "A2" == sheet.freeze_panes
        assert sheet.auto_filter.ref.startswith("A1:L")
    assert team_cells
    assert all("s" == c.data_type for c in team_cells)
    csv_text = (tmp_path / "run" / "worklist.csv").read_text()
    assert "'=cmd" in csv_text


def test_report_command_rebuilds_and_compares(run_dir, tmp_path):
    """qa-engine report rebuilds the files from a finished run; --compare adds the change since then."""
    later = tmp_path / "later"
    audit([str(EXAMPLE_CASELOAD)], later, as_of=dt.date(2016, 3, 31))
    result = CliRunner().invoke(cli, ["report", str(later), "--compare", str(run_dir)])
    text = (later / "report.md").read_text()

    assert 0 == result.exit_code, result.output
    assert "Compared with the audit as of 2016-02-15" in text
    assert "percentage points on the previous audit" in text or "No change since the previous audit" in text


def test_report_refuses_an_incomplete_run(tmp_path):
    """A folder without a complete run.json is refused with a clear message."""
    with pytest.raises(InputError, match="not a finished qa-engine run"):
        load_run(tmp_path)
    assert 2 == CliRunner().invoke(cli, ["report", str(tmp_path)]).exit_code


def test_sample_is_stratified_and_repeatable(tmp_path):
    """--sample N audits N cases in proportion to order types; the same seed picks the same cases."""
    from qa_engine.records.generate import generate_lines

    path = tmp_path / "g.jsonl"
    path.write_text("".join(generate_lines(400, seed=9)))
    first = audit([str(path)], tmp_path / "a", as_of=AS_OF, sample=30, seed=4)
    audit([str(path)], tmp_path / "b", as_of=AS_OF, sample=30, seed=4)
    strata = first.run["sample"]["strata"]

    assert 30 == first.counts["audited"] == sum(s["sampled"] for s in strata.values())
    assert 400 == first.counts["audited"] + first.counts["rejected"] + first.counts["not_sampled"]
    for s in strata.values():
        assert abs(s["sampled"] - 30 * s["records"] / 400) < 1
    assert (tmp_path / "a" / "findings.jsonl").read_bytes() == (tmp_path / "b" / "findings.jsonl").read_bytes()
    build_report(tmp_path / "a")
    assert "a sample of 30 cases, stratified by order type" in (tmp_path / "a" / "report.md").read_text()


def test_sample_needs_files(tmp_path):
    """Sampling reads the inputs twice, so standard input is refused with the reason."""
    with pytest.raises(InputError, match="needs files"):
        audit(["-"], tmp_path, as_of=AS_OF, sample=5)


def test_html_keeps_problems_first_and_says_where_the_rest_are(run_dir, monkeypatch):
    """Past its bounds the page keeps the problems first, says how many it holds, and names the worklists."""
    import re as regex

    import qa_engine.report.html as html

    monkeypatch.setattr(html, "PROBLEM_ROWS_PER_CRITERION", 3)
    monkeypatch.setattr(html, "ROWS_PER_CRITERION", 2)
    data, rows = load_run(run_dir), html.PageRows()
    data.scan(rows)
    page = html.render_html(data, rows, None)
    tables = page.split('<table class="cases">')[1:]

    assert len(tables) == 14
    for table in tables:
        outcomes = regex.findall(r'data-outcome="(\w+)"', table.split("</table>")[0])
        assert len(outcomes) <= 5
        assert outcomes == sorted(outcomes, key=lambda o: o == "met")
    assert regex.search(r"This page holds 5 of the \d+ findings: those not met or lacking data first "
                        r"\(the first 3 of \d+\), then the first met ones\. Every not-met finding is in worklist\.xlsx",
                        page)


def test_html_risk_filter_lists_levels_lowest_first_then_not_rated(run_dir):
    """The risk-of-serious-harm filter reads low, medium, high, very high, not rated: a scale, not the alphabet."""
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    select = re.search(r'<select data-filter="risk">(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)">', select)
    assert ["", "low", "medium", "high", "very high", "not rated"] == options


def _counting_reads(monkeypatch) -> dict[str, int]:
    """Count each read of a run's findings.jsonl and each load of a rule pack."""
    import qa_engine.rulepack.load as load
    from qa_engine.report.build import RunData

    reads = {"findings": 0, "rule pack": 0}
    findings, load_rules = RunData.findings, load.load_rules

    def counted_findings(self):
        reads["findings"] += 1
        return findings(self)

    def counted_load(*args, **kwargs):
        reads["rule pack"] += 1
        return load_rules(*args, **kwargs)

    monkeypatch.setattr(RunData, "findings", counted_findings)
    monkeypatch.setattr(load, "load_rules", counted_load)
    return reads


def test_the_report_reads_the_findings_and_the_rule_pack_once(run_dir, monkeypatch):
    """report.md, report.html and the worklists are built from one read of findings.jsonl (36 KB a case: gigabytes
    on a large run) and one load of the rule pack, and give the same bytes as before."""
    before = {name: (run_dir / name).read_bytes() for name in REPORT_FILES}
    reads = _counting_reads(monkeypatch)
    build_report(run_dir)

    assert reads == {"findings": 1, "rule pack": 1}
    assert before == {name: (run_dir / name).read_bytes() for name in REPORT_FILES}


def test_report_md_shows_text_from_forms_and_criteria_literally():
    """One escaper for all of report.md: the judgement section shows a control character in a comment as [U+000B],
    as the rest of the report does (it was a space), and a criterion title or question text from criteria.yaml (a
    service may edit it) can make no table cell, line or link (it was written as it stood)."""
    from qa_engine.report.judgements import CriterionRow, JudgementView, judgement_markdown

    question = {"question": "1.1a", "asks": "good_enough", "text": "Was it\r\ngood | enough?", "share": "0 of 1",
                "not_applicable": 0, "not_yet_judged": 0, "headline": True, "yes": 0, "no": 1}
    view = JudgementView(
        forms=[], cases_judged=1, criteria=[CriterionRow("1.1", "Assessment | [x](javascript:y)", "a", "b", "c", 1, 0)],
        questions={"1.1": [question]}, most_failed=question,
        parted=[{"case_id": "C-1", "case_manager": "M-1", "criterion": "1.1", "data": "good enough",
                 "manager": "not good enough", "comments": ["1.1a: see\x0bnotes"]}],
        form_disagreements=[], still_to_do=[], comments_left_out=False, roll_up="the rule",
        left_out={"parted": 0, "form_disagreements": 0, "still_to_do": 0})
    text = "\n".join(judgement_markdown(view))

    assert "| 1.1 Assessment \\| \\[x\\]\\(javascript:y\\) |" in text
    assert "| Was it good \\| enough? |" in text
    assert "(Was it good \\| enough?), answered No" in text
    assert "1.1a: see\\[U+000B\\]notes" in text
    assert "\x0b" not in text and "\r" not in text
