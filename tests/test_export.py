"""Exports as tables: the flat layout round trip, and an export's audit matching the JSON Lines original."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_engine.base.errors import MappingError
from qa_engine.base.yamlfile import load_yaml
from qa_engine.cli import cli
from qa_engine.exports.flat import export_flat
from qa_engine.exports.mapping import FLAT_MAPPING, build_mapping
from qa_engine.exports.sources import read_inputs
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.records.generate import DEFAULT_RATES, generate
from qa_engine.records.model import CaseRecord
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD

AS_OF = dt.date.fromisoformat(EXAMPLE_AS_OF)


def _records(path: Path | str, mapping=None) -> list:
    return [Validator.check(raw) for raw in read_inputs([str(path)], mapping=mapping)]


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(name="example_export", scope="module")
def _example_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "caseload-csv"
    export_flat([str(EXAMPLE_CASELOAD)], folder)
    return folder


def test_flat_layout_covers_every_field_of_the_record():
    """mappings/flat.yaml maps every field of every part of the record, so export-csv loses nothing."""
    from qa_engine.records.layout import RECORD, targets

    flat = build_mapping(load_yaml(FLAT_MAPPING, MappingError), FLAT_MAPPING)
    for name, target in targets().items():
        if name in ("child", "order", "court"):
            target, prefix, name = targets()[RECORD], f"{name}.", RECORD
        else:
            prefix = ""
        mapped = {c.field.path for c in flat.tables[name].columns}
        assert {p for p in target.fields if p.startswith(prefix)} <= mapped, name


@pytest.mark.parametrize("suffix", ["", ".xlsx"])
def test_example_caseload_round_trips_through_the_flat_layout(tmp_path, suffix):
    out = tmp_path / f"caseload{suffix}"
    result = export_flat([str(EXAMPLE_CASELOAD)], out)
    original = _records(EXAMPLE_CASELOAD)
    assert result.cases == len(original) == 37
    assert not result.rejections
    assert original == _records(out)


@pytest.mark.parametrize("suffix", ["", ".xlsx"])
def test_export_audits_to_the_same_findings_as_the_json_lines_original(tmp_path, suffix):
    """The issue's acceptance test: the example caseload as CSV files and as a workbook audits like the JSON Lines."""
    export = tmp_path / f"caseload{suffix}"
    export_flat([str(EXAMPLE_CASELOAD)], export)
    a = audit([str(EXAMPLE_CASELOAD)], tmp_path / "json", as_of=AS_OF)
    b = audit([str(export)], tmp_path / "tables", as_of=AS_OF)
    assert (tmp_path / "json" / "findings.jsonl").read_bytes() == (tmp_path / "tables" / "findings.jsonl").read_bytes()
    assert (tmp_path / "json" / "summary.json").read_bytes() == (tmp_path / "tables" / "summary.json").read_bytes()
    assert a.counts == {"records_read": 37, "audited": 37, "rejected": 0}
    assert b.counts == {"records_read": 37, "audited": 37, "rejected": 0, "unmatched_rows": 0}
    inputs = [i["path"] for i in b.run["inputs"]]
    assert str(export / "cases.csv") in inputs or str(export) in inputs
    assert b.run["mapping"]["name"] == "qa_engine flat layout"


def test_export_csv_and_audit_from_the_command_line(tmp_path):
    runner = CliRunner()
    folder = tmp_path / "caseload-csv"
    done = runner.invoke(cli, ["--log-level", "error", "export-csv", str(EXAMPLE_CASELOAD), "--out", str(folder)])
    assert done.exit_code == 0, done.output
    assert "Wrote 37 cases" in done.output
    assert (folder / "cases.csv").read_bytes().startswith(b"\xef\xbb\xbfcase_id,")  # Excel reads UTF-8 with a BOM
    ran = runner.invoke(cli, ["--log-level", "error", "audit", str(folder), "--out", str(tmp_path / "run"),
                              "--as-of", EXAMPLE_AS_OF, "--no-report"])
    assert ran.exit_code == 0, ran.output
    assert "Audited 37 of 37 records" in ran.output


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
_LABEL = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
"""Labels (team, question) hold no control characters: the record model refuses them (qa_engine.base.text)."""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), cases=st.integers(1, 6), note=_TEXT, name=_TEXT, team=_LABEL,
       question=_LABEL, rates=st.dictionaries(st.sampled_from(sorted(DEFAULT_RATES)), st.floats(0, 1), max_size=6))
def test_round_trip_is_identical_for_any_records(tmp_path_factory, seed, cases, note, name, team, question, rates):
    """export-csv then reading back with the shipped mapping yields identical records (a property test).

    Records come from the generator (any seed), with free text that has commas, quotes, semicolons,
    new lines, formula-like and non-Latin characters put into notes, names, teams and questions.
    """
    records = []
    for record in generate(cases, seed, rates=rates):
        record = copy.deepcopy(record)
        for contact in record.get("contacts", [])[:2]:
            contact["note"] = note
        record["child"]["name"] = name
        if team.strip():
            record["team"] = team[:64]
        for judgement in record.get("practice_judgements", [])[:1]:
            if question.strip():
                judgement["question"] = question
        records.append(record)
    tmp = tmp_path_factory.mktemp("rt")
    source = _write_jsonl(tmp / "in.jsonl", records)
    original = _records(source)
    assert all(isinstance(r, CaseRecord) for r in original)
    export_flat([str(source)], tmp / "out")
    assert original == _records(tmp / "out")


def _local_mapping(tmp_path: Path) -> Path:
    """The flat mapping, but with the column names, codes and date format of a case-management system."""
    data = load_yaml(FLAT_MAPPING, MappingError)
    contacts = data["tables"]["contacts"]
    contacts["join"] = {"case_id": "Case Ref"}
    contacts["columns"]["date"] = "Contact Date"
    contacts["columns"]["outcome"] = {"column": "Outcome", "values": {
        "ATT": "attended", "AA": "acceptable_absence", "UA": "unacceptable_absence", "NR": "not_recorded"}}
    path = tmp_path / "local.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    return path


_CODES = {"attended": "ATT", "acceptable_absence": "AA", "unacceptable_absence": "UA", "not_recorded": "NR"}


def _localise(folder: Path) -> list[list[str]]:
    """Rewrite contacts.csv as the case-management system would: its headers, codes and dd/mm/yyyy dates."""
    with (folder / "contacts.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    header[header.index("case_id")] = "Case Ref"
    header[header.index("date")] = "Contact Date"
    header[header.index("outcome")] = "Outcome"
    for row in rows[1:]:
        row[header.index("Outcome")] = _CODES[row[header.index("Outcome")]]
        row[header.index("Contact Date")] = dt.date.fromisoformat(row[header.index("Contact Date")]).strftime("%d/%m/%Y")
    return rows


def _write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)


def test_a_bad_code_a_bad_date_and_an_orphan_row_are_reported_in_the_exports_terms(tmp_path, example_export):
    """The issue's acceptance test: all three problems named by file, row, column and value; the rest audited."""
    folder = tmp_path / "export"
    folder.mkdir()
    for path in example_export.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    rows = _localise(folder)
    header = rows[0]
    case_of = {row[header.index("Case Ref")] for row in rows[1:]}
    first_case = rows[1][header.index("Case Ref")]
    other = next(r for r in rows[1:] if r[header.index("Case Ref")] != first_case)
    other_case = other[header.index("Case Ref")]
    rows[1][header.index("Outcome")] = "UA?"
    bad_date_row = rows.index(other)
    other[header.index("Contact Date")] = "31/02/2016"
    orphan = list(rows[1])
    orphan[header.index("Case Ref")] = "NOT-A-CASE"
    orphan[header.index("contact_id")] = "X-1"
    rows.append(orphan)
    _write_csv(folder / "contacts.csv", rows, encoding="cp1252", delimiter=";")  # a council's Excel "CSV"
    mapping = _local_mapping(tmp_path)

    runner = CliRunner()
    checked = runner.invoke(cli, ["--log-level", "error", "validate", "--mapping", str(mapping), str(folder)])
    assert checked.exit_code == 1
    lines = checked.output.splitlines()
    contacts = folder / "contacts.csv"
    assert (f'{contacts} row 2, column "Outcome" (case {first_case}): "UA?" is not one of the mapped codes '
            "(AA, ATT, NR, UA)") in lines
    assert (f'{contacts} row {bad_date_row + 1}, column "Contact Date" (case {other_case}): "31/02/2016" is not a date '
            "in the format dd/mm/yyyy") in lines
    assert any(line.startswith(f"{contacts} row {len(rows)}: no case in ") for line in lines), lines
    assert lines[-1] == "35 of 37 records valid, 2 rejected; 1 table row joined no case."
    assert len(case_of) > 2

    result = audit([str(folder)], tmp_path / "run", as_of=AS_OF, mapping=_load(mapping), report=True)
    assert result.counts == {"records_read": 37, "audited": 35, "rejected": 2, "unmatched_rows": 1}
    report = (tmp_path / "run" / "report.md").read_text()
    assert "37 records were read and 2 could not be audited; 1 row of the export's tables joined no case" in report
    assert "local.yaml" in (tmp_path / "run" / "report.html").read_text()
    audit([str(folder)], tmp_path / "run2", as_of=AS_OF, mapping=_load(mapping), jobs=2)  # workers name columns too
    for name in ("rejected.jsonl", "findings.jsonl", "summary.json"):
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "run2" / name).read_bytes()
    rejected = [json.loads(line) for line in (tmp_path / "run" / "rejected.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in rejected] == ["record", "record", "unmatched_row"]
    # the 35 others audit exactly as their JSON Lines originals do
    originals = [json.loads(x) for x in EXAMPLE_CASELOAD.read_text().splitlines() if x.strip()]
    kept = _write_jsonl(tmp_path / "kept.jsonl", [r for r in originals if r["case_id"] not in (first_case, other_case)])
    audit([str(kept)], tmp_path / "json", as_of=AS_OF)
    assert (tmp_path / "json" / "findings.jsonl").read_bytes() == (tmp_path / "run" / "findings.jsonl").read_bytes()


def _load(path: Path):
    from qa_engine.exports.mapping import load_mapping

    return load_mapping(path)


def test_a_date_of_birth_that_is_not_a_date_is_reported_without_its_value(tmp_path, example_export):
    folder = tmp_path / "export"
    folder.mkdir()
    for path in example_export.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    with (folder / "cases.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("child.date_of_birth")] = "Jane Doe 12 Acacia Ave"
    _write_csv(folder / "cases.csv", rows)
    [first, *_] = _records(folder)
    assert isinstance(first, Rejection)
    assert first.problems[0].reason == "(value not shown: personal data) is not a date in the format dd/mm/yyyy"
    assert "Jane" not in json.dumps(first.model_dump())


def test_the_shipped_csv_example_is_the_example_caseload_exported(tmp_path):
    """examples/caseload-csv is exactly what export-csv writes for examples/caseload.jsonl (it cannot drift)."""
    export_flat([str(EXAMPLE_CASELOAD)], tmp_path / "fresh")
    shipped = EXAMPLE_CASELOAD.parent / "caseload-csv"
    assert sorted(p.name for p in shipped.iterdir()) == sorted(p.name for p in (tmp_path / "fresh").iterdir())
    for path in shipped.iterdir():
        assert path.read_bytes() == (tmp_path / "fresh" / path.name).read_bytes(), path.name


_XLSX_TEXT = st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=5)
                      | st.sampled_from(["\t", "\n", "\r", "\r\n", "=", "_x000D_", "_x005F_", "_x", "_x0041_"]),
                      max_size=8).map("".join)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), note=_XLSX_TEXT, name=_XLSX_TEXT)
def test_round_trip_through_a_workbook_is_identical(tmp_path_factory, seed, note, name):
    """The same through an .xlsx workbook, control characters included (stored escaped, as Excel does)."""
    records = []
    for record in generate(2, seed):
        record = copy.deepcopy(record)
        for contact in record.get("contacts", [])[:2]:
            contact["note"] = note
        record["child"]["name"] = name
        records.append(record)
    tmp = tmp_path_factory.mktemp("rtx")
    source = _write_jsonl(tmp / "in.jsonl", records)
    export_flat([str(source)], tmp / "out.xlsx")
    assert _records(source) == _records(tmp / "out.xlsx")


def test_control_characters_survive_a_workbook(tmp_path, example_records):
    """XML cannot hold a bell or a vertical tab: the workbook stores them escaped, as Excel does, and they read back."""
    record = copy.deepcopy(example_records[0])
    record["contacts"][0]["note"] = "bell \x07 here\x0b and \x1f, _x0007_ literal"
    source = _write_jsonl(tmp_path / "in.jsonl", [record])
    export_flat([str(source)], tmp_path / "out.xlsx")
    assert _records(source) == _records(tmp_path / "out.xlsx")


def test_workbook_keeps_noncharacters_and_date_like_text(tmp_path, example_records):
    record = copy.deepcopy(example_records[0])
    record["contacts"][0]["note"] = "odd \uffff and \ufffe"
    record["child"]["address"] = "1899-12-31"
    source = _write_jsonl(tmp_path / "in.jsonl", [record])
    export_flat([str(source)], tmp_path / "out.xlsx")
    assert _records(source) == _records(tmp_path / "out.xlsx")


def test_a_nul_in_free_text_never_crashes_export_csv(tmp_path):
    """Python 3.10's csv writer cannot write NUL: the export stops with one sentence naming the case (exit 2), never a
    traceback and never the value; from 3.11 the CSV holds it."""
    import json
    import sys

    from click.testing import CliRunner

    from qa_engine.cli import cli
    from tests.conftest import EXAMPLE_CASELOAD

    record = json.loads(EXAMPLE_CASELOAD.read_text(encoding="utf-8").splitlines()[0])
    record["child"]["name"] = "Secret\x00Name"
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export-csv", str(source), "--out", str(tmp_path / "csv")])
    assert "Secret" not in result.output
    if sys.version_info < (3, 11):
        assert result.exit_code == 2, result.output
        assert f"case {record['case_id']}: a value in its record rows holds a character a CSV file cannot hold" in result.output
        assert not any((tmp_path / "csv").glob("*.csv"))
    else:
        assert result.exit_code == 0, result.output
