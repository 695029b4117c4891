"""The worked example of a CLD-shaped export: examples/cld-like-export read through mappings/examples/cld-like.yaml.

The folder is what tests/make_cld_example.py writes from twelve records of examples/caseload.jsonl;
read back through the mapping it must give exactly those case records, and auditing it must give the
same findings as auditing the records themselves.
"""

from __future__ import annotations

import datetime as dt
import json

from qa_engine.base.yamlfile import load_yaml
from qa_engine.exports.mapping import build_mapping, load_mapping
from qa_engine.exports.sources import read_inputs
from qa_engine.exports.tables import TableReader, detect_encoding
from qa_engine.exports.validation import Validator
from qa_engine.records.model import CaseRecord
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_AS_OF, ROOT
from .make_cld_example import CASELOAD, CHOSEN, DEFAULT_OUT, chosen_records, write_export

MAPPING = ROOT / "mappings" / "examples" / "cld-like.yaml"
AS_OF = dt.date.fromisoformat(EXAMPLE_AS_OF)


def _read(mapping=None):
    return list(read_inputs([str(DEFAULT_OUT)], mapping=mapping or load_mapping(MAPPING)))


def test_shipped_export_is_what_the_script_writes(tmp_path):
    written = write_export(tmp_path, chosen_records())
    assert sorted(p.name for p in DEFAULT_OUT.iterdir()) == sorted(p.name for p in written)
    for path in written:
        assert (DEFAULT_OUT / path.name).read_bytes() == path.read_bytes(), (
            f"examples/cld-like-export/{path.name} differs from what tests/make_cld_example.py writes: run it")


def test_export_reads_as_the_chosen_records():
    raws = _read()
    assert [r.error for r in raws if r.unmatched] == []
    results = [Validator.check(r) for r in raws]
    problems = [line for r in results if not isinstance(r, CaseRecord) for line in r.lines()]
    assert problems == []
    expected = [CaseRecord.model_validate(r) for r in chosen_records()]
    assert [r.case_id for r in results] == list(CHOSEN)
    for got, want in zip(results, expected, strict=True):
        assert want.model_dump(mode="json") == got.model_dump(mode="json")
        assert want == got


def test_audit_of_export_matches_audit_of_the_records(tmp_path):
    chosen = tmp_path / "chosen.jsonl"
    lines = [line for line in CASELOAD.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen.write_text("".join(line + "\n" for line in lines if json.loads(line)["case_id"] in CHOSEN), encoding="utf-8")
    from_records = audit([str(chosen)], tmp_path / "records", as_of=AS_OF)
    from_export = audit([str(DEFAULT_OUT)], tmp_path / "export", mapping=load_mapping(MAPPING), as_of=AS_OF)
    assert from_export.counts["audited"] == from_records.counts["audited"] == len(CHOSEN)
    assert from_export.counts["rejected"] == 0
    assert from_export.counts["unmatched_rows"] == 0
    expected = sorted((tmp_path / "records" / "findings.jsonl").read_text(encoding="utf-8").splitlines())
    got = sorted((tmp_path / "export" / "findings.jsonl").read_text(encoding="utf-8").splitlines())
    assert len(got) > len(CHOSEN)
    assert expected == got


def test_example_shows_what_the_mapping_says_it_shows():
    """The files really carry the things the mapping's comments point at (so a change to the script cannot quietly drop them)."""
    person = DEFAULT_OUT / "person_details.csv"
    assert detect_encoding(person) == "cp1252"
    assert "Care status – looked after" in TableReader("person", person).header()
    assert (DEFAULT_OUT / "contacts.csv").read_text(encoding="utf-8").splitlines()[0].count(";") == 6
    assert (DEFAULT_OUT / "asset_plus.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "01/01/1900" in (DEFAULT_OUT / "intervention_programme.csv").read_text(encoding="utf-8")
    warnings = (DEFAULT_OUT / "warnings_and_breach.csv").read_text(encoding="utf-8")
    assert "-Aug-2015" in warnings
    actions = {row.split(",")[2] for row in warnings.splitlines()[1:]}
    assert {"EA02", "First Warning Letter Sent", "EA03", "Breach Request Actioned"} <= actions
    outcomes = {row.split(";")[5] for row in (DEFAULT_OUT / "contacts.csv").read_text(encoding="utf-8").splitlines()[1:]}
    assert {"ATTC", "Attended", "UAAB", "Failed to attend", "Acceptable absence"} <= outcomes
    order_types = {r.order.order_type.value for r in (Validator.check(raw) for raw in _read())}
    assert {"youth_rehabilitation_order", "youth_rehabilitation_order_iss", "referral_order",
            "detention_and_training_order_licence"} <= order_types


def test_one_column_can_be_both_case_id_and_order_id():
    """An export with only interventionProgrammeID (no separate case reference) maps both ids to it."""
    data = load_yaml(MAPPING, ValueError)
    data["tables"]["record"]["columns"]["case_id"] = "interventionProgrammeID"
    results = [Validator.check(raw) for raw in _read(build_mapping(data, MAPPING))]
    assert all(isinstance(r, CaseRecord) for r in results)
    assert [r.case_id for r in results] == [r.order.order_id for r in results] == [
        c.replace("DBY-", "ORD-") for c in CHOSEN]


def test_list_column_with_values_reads_one_code_as_a_list():
    """A list cell is split first, then each code is looked up (one code gives a one-item list)."""
    data = load_yaml(MAPPING, ValueError)
    needs = {"column": "Identified Needs", "values": {"MH": "mental_health", "SM": "substance_misuse"}}
    data["tables"]["assessments"]["columns"]["identified_needs"] = needs
    column = next(c for c in build_mapping(data, MAPPING).tables["assessments"].columns if c.field.path == "identified_needs")
    assert column.read("MH;SM") == ["mental_health", "substance_misuse"]
    assert column.read("MH") == ["mental_health"]
