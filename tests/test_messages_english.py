"""Every message of every rule reads as English, for every outcome and every missing value.

Each template of each rule (its four messages and the reasons it gives for an absent fact) is rendered
with the facts of every one of the rule's own cases, whatever outcome that case has, so a value the case
lacks is tested as missing; then every finding of a generated caseload is checked as written. A message
fails on a placeholder left unfilled, "not recorded" inside a sentence (anything but a labelled value,
"...: not recorded"), a word doubled, "None", or stray punctuation.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from qa_engine.base.calendar import WorkingCalendar
from qa_engine.facts.derive import derive
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.findings import CASE_KIND, _display
from qa_engine.judge.rulecases import load_cases
from qa_engine.records.generate import generate_lines
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack import messages
from qa_engine.rulepack.compile import compile_rule
from qa_engine.rulepack.load import load_rules
from qa_engine.rulepack.messages import render
from qa_engine.rulepack.model import Policy

CHECKS = {
    "unfilled placeholder": re.compile(r"[{}]"),
    "'not recorded' inside a sentence": re.compile(r"(?<!: )\x00|\x00(?![.;,)]|$)"),
    "doubled word": re.compile(r"\b(\w+) \1\b", re.IGNORECASE),
    "None": re.compile(r"\bNone\b"),
    "stray punctuation": re.compile(r"\s[.,;:)]|\(\s|\(\)|[,;:]{2}|[,;:]\.|\.[,;]|\w\(s\)|\s\s"),
}


def problems(text: str) -> list[str]:
    """What is wrong with a message as English ([] when nothing)."""
    found = [name for name, pattern in CHECKS.items() if pattern.search(text)]
    if not text or not text[0].isupper() or not text.rstrip(")").endswith((".", "?")):
        found.append("not a sentence (a capital first, a full stop last)")
    return found


def _templates(rule) -> dict[str, str]:
    out = {name: getattr(rule.messages, name) for name in ("met", "not_met", "not_applicable", "insufficient_data")}
    for fact, absent in rule.absent.items():
        out[f"absent {fact}"] = absent.reason
    return out


def _renderings():
    """(rule, case, template, text) for every template of every rule, filled from every case of the rule; a value the
    case lacks is shown as \x00 (what a reader sees as "not recorded") so the check can tell it from plain text."""
    pack = load_rules()
    policy = Policy()
    calendar = WorkingCalendar(policy.region, policy.closure_days)
    for rule in pack.rules:
        for case in load_cases(rule):
            try:
                record = CaseRecord.model_validate(case.record)
            except ValueError:
                continue
            params = {**policy.parameters_for(rule), **case.parameters}
            compiled = compile_rule(rule, params, True)
            facts = derive(record, case.as_of, calendar, policy.settings)
            scopes = {"case": _display(CASE_KIND, facts.case, compiled.fields.get(CASE_KIND, set())),
                      "param": compiled.parameters}
            kind = rule.for_each.kind if rule.for_each else None
            items = facts.items.get(kind, []) if kind else []
            for item in items or [{}]:
                shown = _display(kind, item, compiled.fields.get(kind, set())) if kind and item else {}
                for name, template in _templates(rule).items():
                    if "{item." in template and not item:
                        continue  # an item's message is only ever written about an item
                    yield rule.id, case.name, name, render(template, {**scopes, "item": shown, "match": {}}, count=2)


def test_every_template_reads_as_english_for_every_rule_case(monkeypatch):
    monkeypatch.setattr(messages, "MISSING", "\x00")
    wrong = sorted({f"{rule_id} {name} ({case}): {text!r}: {', '.join(found)}"
                    for rule_id, case, name, text in _renderings() if (found := problems(text))})
    assert not wrong, f"{len(wrong)} messages read badly:\n" + "\n".join(wrong[:60])


@pytest.mark.slow
def test_every_finding_of_a_generated_caseload_reads_as_english(monkeypatch):
    monkeypatch.setattr(messages, "MISSING", "\x00")
    auditor = Auditor(load_rules(), as_of=dt.date(2016, 2, 15))
    wrong = set()
    for line in generate_lines(400, seed=16):
        record = CaseRecord.model_validate(json.loads(line))
        for finding in auditor.judge(record):
            found = problems(finding["message"])
            if found:
                wrong.add(f"{finding['rule_id']} {finding['outcome']}: {finding['message']!r}: {', '.join(found)}")
    assert not wrong, f"{len(wrong)} messages read badly:\n" + "\n".join(sorted(wrong)[:60])


@pytest.mark.parametrize(("text", "expected"), [
    ("Longest span without a review \x00 months (at most 3).", ["'not recorded' inside a sentence"]),
    ("Assessment completed: \x00.", []),
    ("Within 1 working day(s).", ["stray punctuation"]),
    ("The the plan.", ["doubled word"]),
    ("Level None.", ["None"]),
    ("Filled {case.x}.", ["unfilled placeholder"]),
])
def test_the_checks_catch_what_they_name(text, expected):
    assert problems(text) == expected


def test_an_optional_part_is_left_out_when_a_value_in_it_is_missing():
    template = "Home visit[ {case.days} working days] after sentence; classified: {item.classified}."

    assert render(template, {"case": {"days": 3}, "item": {"classified": True}}) == (
        "Home visit 3 working days after sentence; classified: yes.")
    assert render(template, {"case": {}, "item": {}}) == "Home visit after sentence; classified: not recorded."
    assert render("Within {param.n} working days [sic].", {"param": {"n": 1}}) == "Within 1 working day [sic]."
