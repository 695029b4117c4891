"""What an export cannot show is unknown, not absent: a part of the record no table of the mapping reads gives
insufficient data (naming the table that would let it be judged), never "none recorded"; the report opens with what
the export can show. A part that is mapped but empty for one case still reads as none recorded."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from qa_engine.base.calendar import WorkingCalendar
from qa_engine.base.yamlfile import load_yaml
from qa_engine.exports.mapping import build_mapping
from qa_engine.facts.derive import FactSettings, derive
from qa_engine.facts.parts import FACT_FIELDS, FACT_PARTS, KIND_FIELDS, KIND_PARTS, OPTIONAL_FIELDS, OPTIONAL_PARTS, rule_parts
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack.load import load_rules
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD, EXAMPLES, ROOT

CLD = EXAMPLES / "cld-like-export"
CLD_MAPPING = ROOT / "mappings" / "examples" / "cld-like.yaml"
AS_OF = dt.date.fromisoformat(EXAMPLE_AS_OF)
PLANS = ("plans", "plans.objectives", "plans.reviews")


def _findings(folder):
    return {(f["case_id"], f["rule_id"]): f for f in map(json.loads, (folder / "findings.jsonl").read_text().splitlines())}


def test_an_export_without_plans_judges_no_plan_rule_and_says_which_table_would(tmp_path):
    data = load_yaml(CLD_MAPPING, ValueError)
    for part in PLANS:
        del data["tables"][part]
    without = build_mapping(data, CLD_MAPPING)
    full = audit([str(CLD)], tmp_path / "full", as_of=AS_OF, mapping=build_mapping(load_yaml(CLD_MAPPING, ValueError)))
    part = audit([str(CLD)], tmp_path / "part", as_of=AS_OF, mapping=without, report=True)
    assert part.counts["audited"] == full.counts["audited"] == 12
    before, after = _findings(tmp_path / "full"), _findings(tmp_path / "part")
    needs_plans = {r.id for r in load_rules().rules if rule_parts(r)[0] & set(PLANS)}
    assert {"1.2-plan-timely", "2.2-risk-plan-in-place", "3.2-safety-plan-in-place"} <= needs_plans
    assert any(before[k]["outcome"] == "not_met" for k in before if k[1] in needs_plans)  # so the test can fail
    for key, finding in after.items():
        if key[1] not in needs_plans:
            assert finding == before[key], key
        elif finding["outcome"] == "not_applicable":  # not yet due, decided without plans
            assert before[key]["outcome"] == "not_applicable", key
        else:
            assert finding["outcome"] == "insufficient_data", key
            assert finding["message"].startswith("Cannot be judged from this export: it has no table of plan")
            assert finding["evidence"]["not_exported"]
    assert sum(f["outcome"] == "insufficient_data" for k, f in after.items() if k[1] in needs_plans) > 12
    run = json.loads((tmp_path / "part" / "run.json").read_text())
    assert run["coverage"]["not_exported"] == ["plans", "plans.objectives", "plans.reviews"]
    assert run["coverage"]["criteria"]["1.2"]["needs"] == ["plans", "plans.objectives", "plans.reviews"]
    assert run["coverage"]["criteria"]["1.2"]["judgeable"] < run["coverage"]["criteria"]["1.2"]["rules"]
    report = (tmp_path / "part" / "report.md").read_text(encoding="utf-8")
    assert report.index("## What this export can show") < report.index("## Context")
    assert "This export has no table of plans, plan objectives, plan reviews." in report
    assert "- 1.2 Planning: 1 of " in report or "- 1.2 Planning: 0 of " in report
    html = (tmp_path / "part" / "report.html").read_text(encoding="utf-8")
    assert "What this export can show" in html
    assert json.loads((tmp_path / "full" / "run.json").read_text())["coverage"] is None


def test_a_part_mapped_but_empty_for_one_case_is_none_recorded(tmp_path):
    """DBY-0001's plans taken out of plans.csv: the plans table is mapped, so the case has no plan (not met)."""
    export = tmp_path / "export"
    shutil.copytree(CLD, export)
    for name in ("plans.csv", "plan_objectives.csv", "plan_reviews.csv"):
        path = export / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(line for line in lines if "ORD-0001," not in line), encoding="utf-8")
    audit([str(export)], tmp_path / "out", as_of=AS_OF, mapping=build_mapping(load_yaml(CLD_MAPPING, ValueError)))
    found = _findings(tmp_path / "out")
    assert found[("DBY-0001", "1.2-plan-timely")]["outcome"] == "not_met"
    assert "not_exported" not in found[("DBY-0001", "1.2-plan-timely")]["evidence"]


def test_a_flat_folder_missing_a_file_does_not_hold_that_part_but_an_empty_file_holds_no_rows(tmp_path):
    folder = tmp_path / "flat"
    shutil.copytree(EXAMPLES / "caseload-csv", folder)
    (folder / "oversight.csv").unlink()
    header = (folder / "safeguarding_events.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    (folder / "safeguarding_events.csv").write_text(header + "\n", encoding="utf-8")
    result = audit([str(folder)], tmp_path / "out", as_of=AS_OF)
    assert result.run["coverage"]["not_exported"] == ["oversight"]  # the empty file is held: no rows
    found = _findings(tmp_path / "out")
    assert {f["outcome"] for k, f in found.items() if k[1] == "2.3-risk-oversight"} <= {"insufficient_data",
                                                                                       "not_applicable"}
    assert any(f["outcome"] == "insufficient_data" for k, f in found.items() if k[1] == "2.3-risk-oversight")


@pytest.mark.parametrize("part", OPTIONAL_PARTS)
def test_every_fact_read_from_a_part_is_listed_as_resting_on_it(example_records, part):
    """Take a part out of every example record: each fact that changes must be listed as resting on that part (so a
    fact added to derive.py without its parts fails here)."""
    calendar = WorkingCalendar()
    settings = FactSettings()
    changed: set[tuple[str, str]] = set()
    for data in example_records:
        stripped = json.loads(json.dumps(data))
        if "." in part:
            parent, child = part.split(".")
            for item in stripped.get(parent, []):
                item.pop(child, None)
        elif part == "court":
            stripped.pop("court", None)
        else:
            stripped.pop(part, None)
            if part == "contacts":  # a warning cannot answer a contact the record does not hold
                for action in stripped.get("enforcement", []):
                    action.pop("answers_contact_ids", None)
        if stripped == data:
            continue
        full = derive(CaseRecord.model_validate(data), AS_OF, calendar, settings)
        less = derive(CaseRecord.model_validate(stripped), AS_OF, calendar, settings)
        changed |= {("case", n) for n in set(full.case) | set(less.case) if full.case.get(n) != less.case.get(n)}
        for kind in set(full.items) | set(less.items):
            if full.items.get(kind) != less.items.get(kind):
                changed.add((kind, "*"))
    assert changed or part in ("plans.objectives",), f"no example record exercises {part}"
    for kind, name in sorted(changed):
        listed = KIND_PARTS.get(kind, frozenset()) if name == "*" else FACT_PARTS.get((kind, name), frozenset())
        assert part in listed, f"{kind} fact {name} changes without {part}, but is not listed as resting on it"


def test_the_example_caseload_is_whole():
    assert all("not_exported" not in line for line in EXAMPLE_CASELOAD.read_text().splitlines())


@pytest.mark.parametrize("name", OPTIONAL_FIELDS)
def test_every_fact_read_from_a_field_is_listed_as_resting_on_it(example_records, name):
    """Take a field out of every example record: each fact that changes (or disappears) must be listed as resting on
    it, so an export with no column for it gives insufficient data, never a definite no."""
    from qa_engine.records.layout import targets

    part = max((t for t in targets() if name.startswith(t + ".")), key=len)
    path = name[len(part) + 1:].split(".")
    calendar = WorkingCalendar()
    settings = FactSettings()
    changed: set[tuple[str, str]] = set()
    for data in example_records:
        stripped = json.loads(json.dumps(data))
        holders = [stripped]
        for step in ([] if part in ("child", "order") else part.split(".")):
            holders = [x for h in holders for x in (h.get(step) if isinstance(h.get(step), list) else [h.get(step)])
                       if isinstance(x, dict)]
        if part in ("child", "order"):
            holders = [stripped[part]]
        for holder in holders:  # a required field of a nested object goes with its object (a screening's date)
            holder.pop(path[0], None)
        full = derive(CaseRecord.model_validate(data), AS_OF, calendar, settings)
        less = derive(CaseRecord.model_validate(stripped), AS_OF, calendar, settings)
        changed |= {("case", n) for n in set(full.case) | set(less.case) if full.case.get(n) != less.case.get(n)}
        changed |= {(kind, "*") for kind in set(full.items) | set(less.items) if full.items.get(kind) != less.items.get(kind)}
    for kind, fact in sorted(changed):
        listed = KIND_FIELDS.get(kind, frozenset()) if fact == "*" else FACT_FIELDS.get((kind, fact), frozenset())
        assert name in listed, f"{kind} fact {fact} changes without {name}, but is not listed as resting on it"
