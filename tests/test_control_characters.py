"""Control characters: refused in labels on input, escaped on display, never a crash; a bug exits 4, never 1."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest

from qa_engine.base.text import display
from qa_engine.exports.raw import RawRecord
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.report.worklist import _csv, _xlsx

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD


@pytest.mark.parametrize("place", ["team", "factor", "objective", "requirement", "question"])
def test_a_control_character_in_a_label_is_refused_naming_the_field(example_records, place):
    """Team names and other short labels with a control character are rejected, the character named, not the text."""
    record = json.loads(json.dumps(next(r for r in example_records if r["assessments"] and r["plans"])))
    bad = "North\x0bTeam"
    if place == "team":
        record["team"] = bad
    elif place == "factor":
        record["assessments"][0]["factors"] = [{"category": bad, "rating": "high"}]
    elif place == "objective":
        record["plans"][0]["objectives"] = [{"factor_category": bad}]
    elif place == "requirement":
        record["order"]["requirements"] = [{"type": bad}]
    else:
        record["practice_judgements"] = [{"criterion": "1.1", "question": bad, "answer": "yes", "auditor_id": "A-1",
                                          "date": "2016-01-04"}]
    with Validator() as v:
        result = v.validate(RawRecord("x.jsonl", "line 1", record))

    assert isinstance(result, Rejection)
    assert "control character (U+000B)" in result.reason
    assert "North" not in result.reason


def test_display_escapes_every_control_character_and_keeps_the_rest():
    """One rule for every output: C0 and C1 controls (but tab and new line) shown as [U+XXXX]."""
    assert "a[U+000B]b[U+0000]c[U+007F]d[U+0085]" == display("a\x0bb\x00c\x7fd\x85")
    assert "tab\tand\nnew line, café, 東京" == display("tab\tand\nnew line, café, 東京")


def test_a_worklist_with_control_characters_is_written(tmp_path):
    """A cell holding control characters (from a rule file, an earlier run) no longer crashes openpyxl."""
    from openpyxl import load_workbook

    row = ("CM-1", "Team\x0bA", "C-1", "youth rehabilitation order", "2015-06-01", "high", "4.3", "4.3-x",
           "found \x07", "expected \x1b[31m")
    (tmp_path / "w.xlsx").write_bytes(_xlsx([row], dt.date(2016, 2, 15)))
    cells = [c.value for c in load_workbook(tmp_path / "w.xlsx").worksheets[0][2]]

    assert "Team[U+000B]A" == cells[1]
    assert "expected [U+001B][31m" == cells[9]
    assert "Team[U+000B]A" in _csv([row])


def test_an_unexpected_error_exits_4_with_one_sentence(tmp_path, monkeypatch, capsys):
    """A bug is exit 4 (never 1, which --fail-on uses), one sentence, no traceback, no input value."""
    import qa_engine.run.audit as run_audit
    from qa_engine.cli import main

    def broken(*args, **kwargs):
        raise RuntimeError("Jane Doe, 12 Acacia Avenue")

    monkeypatch.setattr(run_audit, "audit", broken)
    monkeypatch.setattr(sys, "argv", ["qa-engine", "audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF,
                                      "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as stopped:
        main()
    err = capsys.readouterr().err

    assert 4 == stopped.value.code
    assert "Traceback" not in err
    assert "Jane" not in err and "Acacia" not in err
    assert "internal error" in err
    assert 1 == len([line for line in err.splitlines() if line.strip()])


def test_a_damaged_workbook_cell_never_shows_its_value(tmp_path):
    """A cell openpyxl cannot read (a name stored as a number) stops the run naming the sheet and row, not the value."""
    import re
    import zipfile

    from click.testing import CliRunner

    from qa_engine.cli import cli

    book = tmp_path / "export.xlsx"
    assert 0 == CliRunner().invoke(cli, ["export-csv", str(EXAMPLE_CASELOAD), "--out", str(book)]).exit_code
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text, n = re.subn(r'(<c r="D2"[^>]*>.*?</c>)', r'\1<c r="E2" t="n"><v>Jane Doe</v></c>', data.decode(),
                                  count=1)
                assert 1 == n
                data = text.encode()
            target.writestr(item, data)

    result = CliRunner().invoke(cli, ["audit", str(damaged), "--as-of", EXAMPLE_AS_OF, "--out", str(tmp_path / "out")])

    assert 2 == result.exit_code, result.output
    assert "row 2" in result.output
    assert "Jane" not in result.output
