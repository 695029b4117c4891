"""Batch runs: any number of worker processes writes the same bytes, and long runs report progress."""

from __future__ import annotations

import json

import structlog

from qa_engine.judge.batch import Progress, default_jobs
from qa_engine.records.generate import DEFAULT_UNTIL, generate_lines
from qa_engine.run.audit import audit

from .conftest import EXAMPLE_CASELOAD


def _mixed_input(tmp_path):
    """Generated cases, a duplicate, and some broken lines."""
    lines = list(generate_lines(300, seed=21))
    lines.insert(50, "{not json\n")
    lines.insert(120, lines[10])  # a duplicate case id
    lines.insert(200, json.dumps({"case_id": "X-1", "child": {}}) + "\n")
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(lines))
    return path


def test_jobs_give_byte_identical_outputs(tmp_path):
    """--jobs 1 and --jobs 2 write identical findings, rejections and summary, duplicates and errors included."""
    path = _mixed_input(tmp_path)
    one = audit([str(path), str(EXAMPLE_CASELOAD)], tmp_path / "one", as_of=DEFAULT_UNTIL, jobs=1)
    two = audit([str(path), str(EXAMPLE_CASELOAD)], tmp_path / "two", as_of=DEFAULT_UNTIL, jobs=2)

    for name in ("findings.jsonl", "rejected.jsonl", "summary.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert one.counts == two.counts
    assert 3 == one.counts["rejected"]
    assert one.counts["records_read"] == one.counts["audited"] + one.counts["rejected"]


def test_jobs_with_sample_and_pseudonyms(tmp_path):
    """Sampling and pseudonymising give the same bytes in one process or two."""
    path = _mixed_input(tmp_path)
    key = b"0123456789abcdef0123"
    for jobs in (1, 2):
        audit([str(path)], tmp_path / str(jobs), as_of=DEFAULT_UNTIL, jobs=jobs, sample=40, seed=3, pseudonym_key=key)

    for name in ("findings.jsonl", "rejected.jsonl", "summary.json"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name


def test_progress_is_logged_when_not_on_a_terminal():
    """Off a terminal, progress is a periodic structured log event with the rate and, if known, time left."""
    with structlog.testing.capture_logs() as logs:
        meter = Progress(total=10, every=0.0)
        for _ in range(3):
            meter.update()
        meter.close()

    events = [e for e in logs if e["event"] == "audit.progress"]
    assert 3 == len(events)
    assert {"records", "total", "cases_per_second", "seconds_left"} <= set(events[-1])


def test_default_jobs_is_the_cores_available():
    """The default is one process per core this process may use."""
    import os

    assert default_jobs() == len(os.sched_getaffinity(0))


def test_summary_counted_by_the_workers_is_the_summary_of_the_findings(tmp_path, pack):
    """Workers count their own cases and the parent adds the tallies up, taking back a case refused as a
    duplicate: the summary equals one counted afresh, case by case, from findings.jsonl."""
    from itertools import groupby

    from qa_engine.judge.auditor import Auditor
    from qa_engine.judge.findings import SummaryBuilder

    path = _mixed_input(tmp_path)
    audit([str(path)], tmp_path / "two", as_of=DEFAULT_UNTIL, jobs=2)
    findings = [json.loads(line) for line in (tmp_path / "two" / "findings.jsonl").read_text().splitlines()]
    fresh = SummaryBuilder(list(Auditor(pack, as_of=DEFAULT_UNTIL).compiled.rules.values()), pack.criteria,
                           DEFAULT_UNTIL.isoformat())
    for _, case in groupby(findings, key=lambda f: f["case_id"]):
        fresh.add_outcomes([(f["rule_id"], f["criterion"], f["outcome"]) for f in case])

    assert 300 == fresh.cases
    assert fresh.build().model_dump(mode="json") == json.loads((tmp_path / "two" / "summary.json").read_text())


def test_tally_counts_each_criterion_half_and_section_by_its_worst_rule():
    """Tally.add, checked against the definition written out plainly: a criterion (and each half of it, and each
    section) counts a case under its rules' worst outcome, not met before insufficient data before met before not
    applicable; taking a case back (sign -1) undoes it exactly."""
    import random

    from qa_engine.judge.findings import OUTCOMES, Tally

    rules = {"1.1-a": "1.1", "1.1-b": "1.1", "1.1-c": "1.1", "1.2-a": "1.2", "2.1-a": "2.1", "2.1-b": "2.1",
             "om-a": "OM"}
    sections = {"1.1": "Assessment", "1.2": "Assessment", "2.1": "Risk", "OM": "Oversight"}
    basis = {"1.1-c": "practice_judgement", "2.1-b": "practice_judgement"}
    worst_first = ["not_met", "insufficient_data", "met", "not_applicable"]

    def worst(outcomes):
        return min(outcomes, key=worst_first.index, default=None)

    rng = random.Random(7)
    cases = [{rule: rng.choice(OUTCOMES) for rule in rules} for _ in range(400)]
    tally = Tally(rules, sections, basis)
    for case in cases:
        tally.add(tally.encode_outcomes(case))
    taken_back = cases[:50]
    for case in taken_back:
        tally.add(tally.encode_outcomes(case), -1)

    expected_rules, expected_criteria, expected_halves, expected_sections = {}, {}, {}, {}
    for case in cases[50:]:
        for rule, outcome in case.items():
            expected_rules.setdefault(rule, []).append(outcome)
        for criterion in set(rules.values()):
            mine = {r: o for r, o in case.items() if rules[r] == criterion}
            expected_criteria.setdefault(criterion, []).append(worst(mine.values()))
            for half in ("recorded_data", "practice_judgement"):
                chosen = worst(o for r, o in mine.items() if basis.get(r, "recorded_data") == half)
                if chosen is not None:
                    expected_halves.setdefault((criterion, half), []).append(chosen)
        for section in set(sections.values()):
            expected_sections.setdefault(section, []).append(
                worst(o for r, o in case.items() if sections[rules[r]] == section))

    def counted(outcomes):  # in the order of the tally's outcome codes
        return [outcomes.count(o) for o in ("met", "not_met", "insufficient_data", "not_applicable")]

    assert 350 == tally.cases
    assert [counted(expected_rules[r]) for r in tally.rule_ids] == tally.rule_counts
    assert [counted(expected_criteria[c]) for c in tally.criteria] == tally.criterion_counts
    assert [counted(expected_sections[s]) for s in tally.sections] == tally.section_counts
    assert [[counted(expected_halves.get((c, h), [])) for h in ("recorded_data", "practice_judgement")]
            for c in tally.criteria] == tally.half_counts
