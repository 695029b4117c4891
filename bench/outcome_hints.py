"""Write qa_engine/rulepack/hints.py: each rule's commonest outcome in a findings file.

Usage: python bench/outcome_hints.py FINDINGS.jsonl

The fast compilation leaves each rule's default outcome unfired (see qa_engine/rulepack/compile.py);
the commonest outcome saves the most firings. Run it on the findings of a generated caseload
(``qa-engine generate --cases 2000 --seed 1``, audited as of 2016-02-15) after rules change. The
hints change speed only, never a finding.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

HINTS = Path(__file__).resolve().parent.parent / "qa_engine" / "rulepack" / "hints.py"


def main() -> None:
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    with open(sys.argv[1], encoding="utf-8") as handle:
        for line in handle:
            finding = json.loads(line)
            counts[finding["rule_id"]][finding["outcome"]] += 1
    rows = "".join(f'    "{rule_id}": "{c.most_common(1)[0][0]}",\n' for rule_id, c in sorted(counts.items()))
    HINTS.write_text(f'''"""Each rule's commonest outcome, which its fast compilation leaves unfired (speed, never results).

Written by ``python bench/outcome_hints.py FINDINGS.jsonl`` from {sum(counts[next(iter(counts))].values()):,}
generated cases. A rule missing here, or whose hint it cannot give, gets a default from its shape
(see compile.default_outcome); a stale hint costs firings, never a finding.
"""

COMMONEST_OUTCOME: dict[str, str] = {{
{rows}}}
''', encoding="utf-8")


if __name__ == "__main__":
    main()
