"""Where one process's time goes, per case: CPU microseconds in each stage of judging a case.

Usage: python bench/stages.py CASES.jsonl [N]

Reads the first N records (default 1,000) and times, with ``time.process_time``, each stage as the
audit's workers run it: reading and validating, deriving facts, the durable_rules evaluation,
building the findings (plain data), writing them as JSON Lines, counting them for the summary.
As of 2016-02-15 with the shipped rule pack. Figures in docs/performance.md.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from qa_engine.exports.sources import read_inputs
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.facts.derive import derive
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.findings import encode_findings, finding_data
from qa_engine.rulepack.load import load_policy, load_rules


def main() -> None:
    pack = load_rules(None)
    auditor = Auditor(pack, load_policy(None, pack), dt.date(2016, 2, 15))
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    raws = [raw for _, raw in zip(range(limit), read_inputs([sys.argv[1]]), strict=False)]
    spent = dict.fromkeys(("read_validate", "derive", "evaluate", "findings", "encode", "tally"), 0.0)
    clock = time.process_time
    tally = auditor.tally()
    cases = 0
    for raw in raws:
        t0 = clock()
        record = Validator.check(raw)
        if isinstance(record, Rejection):
            continue
        t1 = clock()
        facts = derive(record, auditor.as_of, auditor.calendar, auditor.policy.settings)
        t2 = clock()
        by_rule: dict[str, list] = {rule_id: [] for rule_id in auditor._order}
        for ruleset in auditor.compiled.rulesets:
            for firing in auditor.backend.evaluate(ruleset, facts):
                by_rule[firing.variant.rule_id].append(firing)
        t3 = clock()
        meta = {"case_id": record.case_id, "team": record.team, "case_manager_id": record.case_manager_id,
                "order_type": record.order.order_type.value, "sentence_date": None, "risk_level": None}
        findings = [finding_data(auditor.compiled.rules[rule_id], by_rule[rule_id], facts.case, meta, None,
                                 facts.problems) for rule_id in auditor._order]
        t4 = clock()
        encode_findings(findings)
        t5 = clock()
        tally.add(tally.encode_outcomes({f["rule_id"]: f["outcome"] for f in findings}))
        t6 = clock()
        for stage, seconds in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True):
            spent[stage] += seconds
        cases += 1
    for stage, seconds in spent.items():
        print(f"{stage:14} {seconds / cases * 1e6:8.0f} us a case")
    print(f"{'total':14} {sum(spent.values()) / cases * 1e6:8.0f} us a case ({cases:,} cases)")


if __name__ == "__main__":
    main()
