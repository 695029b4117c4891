"""Small command-line promises kept: rules list shows basis and sources, log options anywhere, mapping TODOs counted
alike, audit --help names the report files, verify counts in English."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from qa_engine.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_rules_list_text_shows_basis_and_each_default_with_its_status_and_source():
    result = CliRunner().invoke(cli, ["rules", "list"])
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if " 1.1-assessment-reviewed " in line)

    assert result.exit_code == 0
    assert lines[at + 1].strip() == "basis: recorded data"
    assert re.fullmatch(r"\s+review_interval_months = 3 \(status: verified; source: .+\)", lines[at + 2])
    assert sum(1 for line in lines if line.strip().startswith("basis: ")) == 61


def test_log_format_is_accepted_after_the_command_too(tmp_path):
    before = CliRunner().invoke(cli, ["--log-format", "json", "rules", "lint"])
    after = CliRunner().invoke(cli, ["rules", "lint", "--log-format", "json", "--log-level", "error"])

    assert before.exit_code == after.exit_code == 0
    assert "no such option" not in after.output


def test_mapping_init_and_check_count_todos_the_same_way_and_name_the_same_next_command(tmp_path):
    out = tmp_path / "mapping.yaml"
    made = CliRunner().invoke(cli, ["mapping", "init", str(ROOT / "examples" / "cld-like-export"), "--out", str(out)])
    settle = int(re.search(r"; (\d+) TODOs to settle", made.output).group(1))
    checked = CliRunner().invoke(cli, ["mapping", "check", str(out)])

    assert made.exit_code == 0 and settle > 1
    assert f"Then check it with: qa-engine mapping check {out}" in made.output
    assert checked.exit_code == 2
    assert f"{settle} TODOs are still to settle" in checked.output
    readme = (ROOT / "README.md").read_text()
    assert "qa-engine mapping init" in readme and "qa-engine mapping check my-mapping.yaml" in readme


def test_audit_help_describes_out_with_the_report_files():
    text = " ".join(CliRunner().invoke(cli, ["audit", "--help"]).output.split())
    out_help = text[text.index("--out DIRECTORY"):text.index("--rules")]

    for name in ("report.html", "report.md", "worklist.xlsx", "worklist.csv", "findings.jsonl", "run.json"):
        assert name in out_help.replace("- ", "-")


def test_mapping_init_on_an_empty_folder_says_so_and_writes_nothing(tmp_path):
    """An empty folder is not an export: exit 2 with the reason, never a mapping of '0 tables matched'."""
    from click.testing import CliRunner

    from qa_engine.cli import cli

    (tmp_path / "empty").mkdir()
    out = tmp_path / "mapping.yaml"
    result = CliRunner().invoke(cli, ["mapping", "init", str(tmp_path / "empty"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "holds no CSV file or workbook sheet, so there is nothing to draft a mapping from" in result.output
    assert not out.exists()


def test_order_types_read_as_a_manager_writes_them():
    """ISS stays in capitals; every order type has its own words (no 'youth rehabilitation order iss')."""
    from qa_engine.records.model import ORDER_TYPE_LABELS, OrderType, order_type_label

    assert set(OrderType) == set(ORDER_TYPE_LABELS)
    assert "youth rehabilitation order with ISS" == order_type_label("youth_rehabilitation_order_iss")
    assert "referral order" == order_type_label("referral_order")
    assert "something new" == order_type_label("something_new")


def test_the_report_says_the_chart_ignores_the_filters_and_names_no_code(tmp_path):
    """A manager reads report.html's chart with the filters set: the page says the chart counts every case.
    report.md's method note speaks of the inspectorate's wording, not of qa_engine's modules."""
    import datetime as dt

    from qa_engine.run.audit import audit
    from tests.conftest import EXAMPLE_CASELOAD

    audit([str(EXAMPLE_CASELOAD)], tmp_path / "out", as_of=dt.date(2016, 2, 15), jobs=1, report=True)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "The chart counts every case in the run: the filters further down change the tables, not the chart." in html
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "describe_proportion" not in md
    assert "phrases.py" not in md
    assert "the way the inspectorate's reports put them" in md
