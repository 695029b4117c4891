"""Write a rule pack's speed hints, ``outcome-hints.yaml``: each rule's commonest outcome in a findings file.

Usage: python bench/outcome_hints.py FINDINGS.jsonl [--rules DIR]

The fast compilation leaves one outcome of each rule unfired (no firing then means that outcome; see
qa_engine/rulepack/compile.py, ``default_outcome``); the commonest saves the most firings. Only a rule judged
per case gets a hint (one judged per item always leaves ``not_applicable`` unfired), and only an outcome the
rule can leave unfired (``check_rule``). The hints change speed only, never a finding. After rules change,
measure them on the generated caseload that tests/test_equivalence.py judges (its slow test fails when they
are stale), from the checkout's folder:

    qa-engine generate --cases 2000 --seed 1 --out hints-cases.jsonl
    qa-engine audit hints-cases.jsonl --as-of 2016-02-15 --no-report --out hints-run
    python bench/outcome_hints.py hints-run/findings.jsonl

It writes DIR/outcome-hints.yaml (default: the repository's rules/), the rules in DIR being those audited.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import yaml

from qa_engine.judge.findings import OUTCOMES
from qa_engine.rulepack.compile import check_rule
from qa_engine.rulepack.load import load_rules
from qa_engine.rulepack.model import HINTS_FILE, RulePack

RULES = Path(__file__).resolve().parent.parent / "rules"

HEADER = f"""\
# Speed hints for this rule pack (optional; a rule folder of your own needs none). For each rule judged per
# case, the outcome its fast compilation leaves unfired: no firing then means that outcome. The commonest
# outcome saves the most firings. No finding depends on them: `qa-engine rules test` and the tests judge every
# case both ways, and `qa-engine rules lint` reports a hint naming a rule that does not exist or an outcome
# the rule cannot leave unfired (which is then not used). Written by bench/outcome_hints.py in qa_engine's
# source repository (its docstring names the caseload they are measured on); schema:
# schemas/{HINTS_FILE.replace('.yaml', '.schema.json')}.
"""


def hints_from_counts(pack: RulePack, counts: dict[str, collections.Counter[str]]) -> dict[str, str]:
    """Each rule's commonest outcome among those it can leave unfired (ties go to the first in OUTCOMES), by rule
    id, for the rules of ``pack`` judged per case that ``counts`` (rule id -> outcome -> cases) holds."""
    hints = {}
    for rule in pack.rules:
        seen = counts.get(rule.id)
        if rule.for_each is not None or not seen:
            continue
        choices = [o for o in OUTCOMES if o in check_rule(rule)]
        hints[rule.id] = max(choices, key=lambda o: (seen[o], -OUTCOMES.index(o)))
    return hints


def render(hints: dict[str, str], cases: int) -> str:
    """The text of outcome-hints.yaml."""
    body = yaml.safe_dump({"cases": cases, "default_outcome": dict(sorted(hints.items()))}, sort_keys=False,
                          default_flow_style=False, width=120)
    return HEADER + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("findings", type=Path, help="findings.jsonl of an audit")
    parser.add_argument("--rules", type=Path, default=RULES, help="the rule folder audited, where the hints go")
    args = parser.parse_args()
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    cases: set[str] = set()
    with open(args.findings, encoding="utf-8") as handle:
        for line in handle:
            finding = json.loads(line)
            counts[finding["rule_id"]][finding["outcome"]] += 1
            cases.add(finding["case_id"])
    pack = load_rules(args.rules)
    hints = hints_from_counts(pack, counts)
    target = args.rules / HINTS_FILE
    target.write_text(render(hints, len(cases)), encoding="utf-8")
    print(f"wrote {target}: hints for {len(hints)} rules, from {len(cases):,} cases")


if __name__ == "__main__":
    main()
