"""The Child Level Data warehouse layout: examples/cld-warehouse-export read through mappings/examples/cld-warehouse.yaml.

The export has the real CLD table and column names and only the tables the CLD has, so most of the record is not
exported: audited, it must say which criteria it can and cannot judge, and give no not_met that rests on a table it
lacks. Its quirks each have a test: a second offence filtered out, a child with two orders, an unlinked assessment,
disposals outside the pack's scope.
"""

from __future__ import annotations

import datetime as dt
import json

from qa_engine.base.yamlfile import TextKeyLoader, load_yaml
from qa_engine.exports.mapping import build_mapping, load_mapping
from qa_engine.exports.sources import read_inputs
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.facts.parts import rule_parts
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack.load import load_rules
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_AS_OF, ROOT
from .make_cld_warehouse_example import DEFAULT_OUT, NOT_EXPORTED, SECOND_ORDER, reduced_records, write_export

MAPPING = ROOT / "mappings" / "examples" / "cld-warehouse.yaml"
AS_OF = dt.date.fromisoformat(EXAMPLE_AS_OF)


def _read(mapping=None):
    return [Validator.check(raw) for raw in read_inputs([str(DEFAULT_OUT)], mapping=mapping or load_mapping(MAPPING))]


def test_shipped_export_is_what_the_script_writes(tmp_path):
    written = write_export(tmp_path)
    assert sorted(p.name for p in DEFAULT_OUT.iterdir()) == sorted(p.name for p in written)
    for path in written:
        assert (DEFAULT_OUT / path.name).read_bytes() == path.read_bytes(), (
            f"examples/cld-warehouse-export/{path.name} differs from what tests/make_cld_warehouse_example.py writes")


def test_export_reads_as_the_records_it_holds_and_names_what_it_cannot():
    results = _read()
    records = [r for r in results if isinstance(r, CaseRecord)]
    assert [r.model_dump(mode="json") for r in records] == [
        CaseRecord.model_validate(r).model_dump(mode="json") for r in reduced_records()]
    assert all(r.not_exported == sorted(NOT_EXPORTED) for r in records)
    scope = [r for r in results if isinstance(r, Rejection) and r.kind == "out_of_scope"]
    assert [r.disposal for r in scope] == ["YOUTH_CAUTION", "COMMUNITY_RESOLUTION",
                                           "NO_FURTHER_ACTION_OUTCOME_22_WITH_YJS_INVOLVEMENT"]
    (unlinked,) = [r for r in results if isinstance(r, Rejection) and r.kind == "unmatched_row"]
    assert unlinked.source.endswith("asset_plus.csv") and "no row of the link table" in unlinked.reason
    assert not [r for r in results if isinstance(r, Rejection) and r.kind == "record"]


def test_one_child_with_two_orders_gets_each_orders_own_assessments():
    first, second = (r for r in _read() if isinstance(r, CaseRecord) and r.case_id in ("ORD-0005", "ORD-0036"))
    assert first.child.child_id == second.child.child_id
    assert {a.assessment_id for a in first.assessments}.isdisjoint({a.assessment_id for a in second.assessments})
    assert all(a.assessment_id.startswith("AS-0005") for a in first.assessments)
    assert SECOND_ORDER == ("DBY-0005", "DBY-0036")


def test_joined_on_the_child_instead_of_the_link_table_both_orders_are_held_back():
    data = load_yaml(MAPPING, ValueError, loader=TextKeyLoader)
    data["tables"]["assessments"].pop("via")
    data["tables"]["assessments"]["join"] = {"child.child_id": "ypid"}
    mapping = build_mapping(data, MAPPING)
    # asset_plus.csv has no ypid column: give it one, as a layout joined on the child would
    import shutil
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        shutil.copytree(DEFAULT_OUT, folder)
        links = dict(line.split(",") for line in (folder / "link_intervention_programme_asset.csv").read_text()
                     .splitlines()[1:])
        children = dict(line.split(",")[:2] for line in (folder / "intervention_programme.csv").read_text()
                        .splitlines()[1:])
        lines = (folder / "asset_plus.csv").read_text().splitlines()
        rows = [lines[0] + ",ypid"] + [line + "," + children.get(links.get(line.split(",")[0], ""), "")
                                       for line in lines[1:]]
        (folder / "asset_plus.csv").write_text("\n".join(rows) + "\n")
        results = [Validator.check(raw) for raw in read_inputs([str(folder)], mapping=mapping)]
    held = {r.case_id: r for r in results if isinstance(r, Rejection) and r.kind == "record"}
    assert sorted(held) == ["ORD-0005", "ORD-0036"]
    assert "joins its rows on the child's id" in held["ORD-0005"].reason


def test_without_the_row_filter_an_order_with_two_offences_is_not_judged():
    data = load_yaml(MAPPING, ValueError, loader=TextKeyLoader)
    data["tables"]["order"].pop("where")
    held = [r for r in _read(build_mapping(data, MAPPING)) if isinstance(r, Rejection) and r.kind == "record"]
    assert held and all("both join this case" in r.reason for r in held)


def test_audited_it_says_what_it_can_judge_and_no_not_met_rests_on_a_missing_table(tmp_path):
    result = audit([str(DEFAULT_OUT)], tmp_path / "export", as_of=AS_OF, mapping=load_mapping(MAPPING), report=True)
    assert result.read_too_little is None
    assert result.counts == {"records_read": 13, "audited": 10, "rejected": 0, "unmatched_rows": 1, "out_of_scope": 3}
    findings = [json.loads(line) for line in (tmp_path / "export" / "findings.jsonl").read_text().splitlines()]
    rules = {r.id: r for r in load_rules().rules}
    missing = set(NOT_EXPORTED)
    not_met = [f for f in findings if f["outcome"] == "not_met"]
    assert not_met, "the export can show some shortfalls (assessments)"
    for finding in not_met:
        assert not rule_parts(rules[finding["rule_id"]])[0] & missing, finding
    for finding in findings:
        if rule_parts(rules[finding["rule_id"]])[0] & missing and finding["outcome"] != "not_applicable":
            assert finding["outcome"] == "insufficient_data", finding
    # the same findings as the records it holds, audited as JSON
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in reduced_records()), encoding="utf-8")
    audit([str(records)], tmp_path / "json", as_of=AS_OF)
    assert (tmp_path / "json" / "findings.jsonl").read_bytes() == (tmp_path / "export" / "findings.jsonl").read_bytes()
    cover = result.run["coverage"]
    assert cover["not_exported"] == sorted(NOT_EXPORTED)
    judgeable = {c: e["judgeable"] for c, e in cover["criteria"].items()}
    assert judgeable["1.1"] > 0 and judgeable["4.2"] < cover["criteria"]["4.2"]["rules"]
    assert "contacts" in cover["criteria"]["4.2"]["needs"]
    report = (tmp_path / "export" / "report.md").read_text(encoding="utf-8")
    assert report.index("## What this export can show") < report.index("## Context")
    assert "- 4.2 " in report and "checks (the rest need contacts (appointments)" in report
    assert ("3 were disposals outside the rule pack's scope and were not judged (COMMUNITY_RESOLUTION 1, "
            "NO_FURTHER_ACTION_OUTCOME_22_WITH_YJS_INVOLVEMENT 1, YOUTH_CAUTION 1)") in report
    assert "every one was audited" not in report  # 3 of the 13 records were out of scope, not audited
