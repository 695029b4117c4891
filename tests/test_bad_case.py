"""One bad case never costs the batch: repeated rows, engine errors and random damage to lists reject only their case."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_engine.base.errors import EngineError
from qa_engine.cli import cli
from qa_engine.exports.raw import RawRecord
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.facts.derive import CaseFacts
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.batch import WorkerConfig, judge_batch
from qa_engine.judge.durable_adapter import get_backend
from qa_engine.rulepack.compile import CompiledRuleset, Variant
from qa_engine.rulepack.load import load_rules
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_AS_OF, EXAMPLES

AS_OF = dt.date.fromisoformat(EXAMPLE_AS_OF)

# table: the phrase its repeated first data row is rejected with
REPEATED_ROWS = {
    "enforcement.csv": "enforcement action EN-1-1 appears twice",
    "referrals.csv": "referral RF-0001-sub appears twice",
    "assessment_factors.csv": "factor emotional_health appears twice in assessment AS-0001-1",
    "contacts.csv": "appears twice",
    "oversight.csv": "appears twice",
    "significant_changes.csv": "appears twice",
    "safeguarding_events.csv": "appears twice",
}


def _with_repeated_row(tmp_path, table):
    folder = tmp_path / "export"
    shutil.copytree(EXAMPLES / "caseload-csv", folder)
    lines = (folder / table).read_text(encoding="utf-8-sig").splitlines()
    (folder / table).write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("table", sorted(REPEATED_ROWS))
def test_a_repeated_row_rejects_its_case_in_validate_and_audit(tmp_path, table):
    """A copy of one row (as joined exports repeat rows) rejects that case in both commands; the other 36 are audited."""
    folder = _with_repeated_row(tmp_path, table)
    runner = CliRunner()

    checked = runner.invoke(cli, ["validate", str(folder)])
    audited = runner.invoke(cli, ["--log-format", "json", "audit", str(folder), "--as-of", EXAMPLE_AS_OF,
                                  "--out", str(tmp_path / "out"), "--no-report", "--jobs", "1"])
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    (rejection,) = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]

    assert 1 == checked.exit_code, checked.output
    assert "36 of 37 records valid, 1 rejected" in checked.output
    assert REPEATED_ROWS[table] in checked.output
    assert 0 == audited.exit_code, audited.output
    assert {"records_read": 37, "audited": 36, "rejected": 1} == {k: run["counts"][k] for k in
                                                                  ("records_read", "audited", "rejected")}
    assert REPEATED_ROWS[table] in rejection["reason"]
    assert table in rejection["problems"][0]["where"]


def test_repeated_ids_in_any_list_are_refused_by_the_record_model(minimal_record):
    """The same rule for every list with ids: the second item is named, with the id, at its own field."""
    minimal_record["plans"] = [{"plan_id": "PL-1", "plan_type": "intervention", "created_date": "2016-03-02"}] * 2
    with Validator() as v:
        rejection = v.validate(RawRecord("x.jsonl", "line 1", minimal_record))

    assert isinstance(rejection, Rejection)
    assert "/plans/1/plan_id" == rejection.pointer
    assert "plan PL-1 appears twice" == rejection.reason


def test_a_contact_answered_twice_by_one_action_is_refused(minimal_record):
    """An action listing the same contact twice would be two identical responses to the engine."""
    minimal_record["contacts"] = [{"contact_id": "K-1", "date": "2016-03-07", "type": "office",
                                   "outcome": "unacceptable_absence"}]
    minimal_record["enforcement"] = [{"action_id": "E-1", "action": "warning", "date": "2016-03-08",
                                      "answers_contact_ids": ["K-1", "K-1"]}]
    with Validator() as v:
        rejection = v.validate(RawRecord("x.jsonl", "line 1", minimal_record))

    assert isinstance(rejection, Rejection)
    assert "enforcement action E-1 answers contact K-1 twice" == rejection.reason


def test_the_adapter_names_a_duplicate_fact_in_export_terms():
    """durable_rules' duplicate-fact error becomes 'enforcement action E-1 appears twice'; the next case is judged."""
    definition = {"r": {"all": [{"c": {"_k": "case"}}, {"i": {"_k": "enforcement"}}], "run": "r"}}
    ruleset = CompiledRuleset(name="bad-case-duplicate", definition=definition,
                              variants={"r": Variant("1.1-test", "met", "item")},
                              fields={"case": (), "enforcement": ()}, rule_ids=("1.1-test",))
    item = {"id": "E-1"}

    with pytest.raises(EngineError) as caught:
        get_backend().evaluate(ruleset, CaseFacts("K-1", {}, {"enforcement": [item, dict(item)]}))
    assert "enforcement action E-1 appears twice" == caught.value.reason
    assert 1 == len(get_backend().evaluate(ruleset, CaseFacts("K-2", {}, {"enforcement": [item]})))


def test_an_engine_error_rejects_its_case_and_the_batch_goes_on(tmp_path, monkeypatch):
    """An engine error while judging one case rejects that case, naming it and the reason; the others are audited."""
    original = Auditor.judge

    def failing(self, record):
        if record.case_id == "DBY-0005":
            error = EngineError("case DBY-0005, ruleset x: durable_rules rejected a fact as a duplicate")
            error.reason = "enforcement action EN-5-1 appears twice"
            raise error
        return original(self, record)

    monkeypatch.setattr(Auditor, "judge", failing)
    result = audit([str(EXAMPLES / "caseload.jsonl")], tmp_path / "out", as_of=AS_OF, jobs=1)
    (rejection,) = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]

    assert {"records_read": 37, "audited": 36, "rejected": 1} == result.counts
    assert "DBY-0005" == rejection["case_id"]
    assert "enforcement action EN-5-1 appears twice" in rejection["reason"]


def test_an_unexpected_error_judging_one_case_rejects_only_it(tmp_path, monkeypatch):
    """A bug met by one case (not an engine error) rejects that case too, without repeating any value."""
    original = Auditor.judge

    def failing(self, record):
        if record.case_id == "DBY-0007":
            raise KeyError("Jane Doe 2001-01-01")
        return original(self, record)

    monkeypatch.setattr(Auditor, "judge", failing)
    result = audit([str(EXAMPLES / "caseload.jsonl")], tmp_path / "out", as_of=AS_OF, jobs=1)
    text = (tmp_path / "out" / "rejected.jsonl").read_text()

    assert 1 == result.counts["rejected"]
    assert "DBY-0007" in text
    assert "Jane" not in text


_LISTS = ("assessments", "plans", "contacts", "enforcement", "referrals", "safeguarding_events",
          "significant_changes", "oversight")
_auditor: dict = {}


@st.composite
def _damaged_records(draw, records):
    """A record whose lists had items duplicated, deleted and reordered at random (nested lists included)."""
    record = json.loads(json.dumps(draw(st.sampled_from(records))))
    lists = [record[name] for name in _LISTS if record.get(name)]
    lists += [a["factors"] for a in record.get("assessments", []) if a.get("factors")]
    lists += [p["reviews"] for p in record.get("plans", []) if p.get("reviews")]
    lists += [e["answers_contact_ids"] for e in record.get("enforcement", []) if e.get("answers_contact_ids")]
    for items in lists:
        for op in draw(st.lists(st.sampled_from(["duplicate", "delete", "reorder"]), max_size=3)):
            if not items:
                break
            index = draw(st.integers(0, len(items) - 1))
            if op == "duplicate":
                items.insert(draw(st.integers(0, len(items))), json.loads(json.dumps(items[index])))
            elif op == "delete":
                del items[index]
            else:
                items[:] = draw(st.permutations(items))
    return record


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_list_damage_never_aborts_a_batch(data):
    """Every record of a batch with duplicated, deleted and reordered list items is audited or rejected; none raises."""
    from .conftest import EXAMPLE_CASELOAD

    examples = _auditor.setdefault("records", [json.loads(line) for line in EXAMPLE_CASELOAD.read_text().splitlines()])
    auditor = _auditor.setdefault("auditor", Auditor(load_rules(), as_of=AS_OF))
    batch = [data.draw(_damaged_records(examples)) for _ in range(4)]
    for n, record in enumerate(batch):
        record["case_id"] = f"M-{n}"
    raws = [RawRecord("fuzz.jsonl", f"line {n + 1}", r) for n, r in enumerate(batch)]

    judged = list(judge_batch(iter(raws), WorkerConfig(None, None, AS_OF, None), auditor, 1))

    assert len(raws) == len(judged)
    for one in judged:
        if one.rejection is not None:
            assert one.rejection.reason
        else:
            assert len(auditor.compiled.rules) == len(one.findings.splitlines())


@pytest.mark.parametrize(("copies", "sample"), [(2, 1), (2, 10), (3, 37)])
def test_sample_sees_duplicates(tmp_path, copies, sample):
    """The same cases given more than once: duplicates are found before sampling, so a sample of N audits N
    distinct cases, every later copy is rejected as a duplicate, and the recorded size is what was audited."""
    inputs = []
    for n in range(copies):
        path = tmp_path / f"copy{n}.jsonl"
        shutil.copy(EXAMPLES / "caseload.jsonl", path)
        inputs.append(str(path))

    result = audit(inputs, tmp_path / "out", as_of=AS_OF, sample=sample, seed=3, jobs=1)
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    findings = [json.loads(line) for line in (tmp_path / "out" / "findings.jsonl").read_text().splitlines()]

    assert sample == result.counts["audited"] == result.run["sample"]["size"]
    assert sample == len({f["case_id"] for f in findings})
    assert 37 * (copies - 1) == result.counts["rejected"] == len(rejected)
    assert all("duplicate case_id" in r["reason"] for r in rejected)
    assert 37 * copies == result.counts["audited"] + result.counts["rejected"] + result.counts["not_sampled"]


def test_a_superscript_digit_in_a_date_cell_rejects_its_case(tmp_path):
    """'²' passes str.isdigit() but is no number: the cell is reported, the batch goes on (found by a fuzz test)."""
    folder = tmp_path / "export"
    shutil.copytree(EXAMPLES / "caseload-csv", folder)
    lines = (folder / "contacts.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("date")] = "²"
    (folder / "contacts.csv").write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")

    result = CliRunner().invoke(cli, ["validate", str(folder)])

    assert 1 == result.exit_code, result.output
    assert "36 of 37 records valid, 1 rejected" in result.output
    assert "is not a date" in result.output
