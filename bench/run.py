"""Benchmark: audit N copies of the example caseload and report cases per second and peak memory.

Usage: python bench/run.py [--copies N] [--as-of 2016-02-15]

Each copy gets distinct case ids, so nothing is rejected as a duplicate. Two phases run in fresh
processes: (a) read and validate only, (b) the full audit (facts, durable_rules, findings, summary).
Peak RSS is the child process's maximum resident set size (resource.getrusage).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "caseload.jsonl"


def make_input(copies: int, target: Path) -> int:
    """Write ``copies`` copies of the example with distinct case ids; returns the record count."""
    base = [json.loads(line) for line in EXAMPLE.read_text().splitlines() if line.strip()]
    count = 0
    with target.open("w") as out:
        for copy in range(copies):
            for record in base:
                record = dict(record, case_id=f"{record['case_id']}-{copy:06d}")
                out.write(json.dumps(record) + "\n")
                count += 1
    return count


def timed(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a child process."""
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--as-of", default="2016-02-15")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "cases.jsonl"
        n = make_input(args.copies, data)
        exe = [sys.executable, "-m", "qa_engine", "--log-level", "error"]
        t_validate, _ = timed([*exe, "validate", str(data)])
        t_audit, rss_audit = timed([*exe, "audit", str(data), "--as-of", args.as_of, "--out", str(Path(tmp) / "out")])
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"cases: {n}")
    print(f"(a) read+validate: {t_validate:.2f} s, {n / t_validate:,.0f} cases/s")
    print(f"(b) full audit:    {t_audit:.2f} s, {n / t_audit:,.0f} cases/s, peak RSS {rss_audit:.0f} MB (max of children)")
    print(f"(b)/(a) time ratio: {t_audit / t_validate:.1f}")


if __name__ == "__main__":
    main()
