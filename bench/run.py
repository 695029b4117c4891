"""Benchmark: generate N cases, then measure (a) read + validate, (b) the full audit in one process, (c) on all cores.

Usage: python bench/run.py --cases N [--seed S] [--jobs J] [--keep DIR] [--json FILE]
       [--input FILE] [--phases a,b,c,r] [--format jsonl|csv|xlsx]

Each phase runs the real command line in a fresh process (``qa-engine validate``, ``qa-engine audit
--jobs 1 --no-report``, ``qa-engine audit --jobs J --no-report``) as of 2016-02-15 with the shipped
rule pack. Reported per phase: wall time, cases per second, and peak RSS (the largest resident set
of the phase's own process and of any worker process it started, from getrusage). The ratios
(b)/(a) and (c)/(a) compare the audit's time with reading and validating the same records.
With ``--format csv`` (or ``xlsx``) the cases are first written with ``qa-engine export-csv`` as the
flat layout's folder of CSV files (or one workbook) and every phase reads that instead: the
tables are joined into records through the mapping, so (a) measures the join.

Phase (r) times ``qa-engine report`` twice on one audit's findings: as generated (cases spread across
case managers) and with every finding moved to one case manager, whose worklist sheet then holds
every row. The ratio (one manager)/(spread) should stay under 2: worklists are built in linear time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa_engine.trust.files import sha256_file

_PHASE = r"""
import json, resource, sys
from qa_engine.cli import main
sys.argv = ["qa-engine", *json.loads(sys.argv[1])]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"own_mb": own / 1024, "worker_mb": workers / 1024, "exit": code}), file=sys.stderr)
"""


def phase(args: list[str]) -> dict[str, float]:
    """Run one qa-engine command in a fresh process: seconds and peak RSS."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PHASE, json.dumps(["--log-level", "error", *args])],
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    memory = json.loads(done.stderr.strip().splitlines()[-1])
    if memory.pop("exit") not in (0, 1):  # 1: validate found rejected records, which a benchmark input may hold
        msg = f"qa-engine {args[0]} failed:\n{done.stdout}{done.stderr}"
        raise SystemExit(msg)
    return {"seconds": seconds, "peak_rss_mb": max(memory["own_mb"], memory["worker_mb"]), **memory}


def report_phases(data: Path, work: Path) -> dict[str, dict[str, float]]:
    """Phase (r): the report of one audit, as generated and with every finding under one case manager."""
    spread, one = work / "r-spread", work / "r-one"
    subprocess.run([sys.executable, "-m", "qa_engine", "--log-level", "error", "audit", str(data), "--out", str(spread),
                    "--as-of", "2016-02-15", "--no-report"], check=True, capture_output=True)
    shutil.copytree(spread, one, dirs_exist_ok=True)
    with (spread / "findings.jsonl").open(encoding="utf-8") as source, \
            (one / "findings.jsonl").open("w", encoding="utf-8") as target:
        for line in source:
            finding = json.loads(line)
            finding["case_manager_id"] = "CM-ONE"
            target.write(json.dumps(finding) + "\n")
    results = {"r_report_spread": phase(["report", str(spread)]), "r_report_one_manager": phase(["report", str(one)])}
    for folder in (spread, one):
        shutil.rmtree(folder)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--keep", type=Path, help="Keep the generated input and outputs in this folder.")
    parser.add_argument("--json", type=Path, help="Also write the results as JSON to this file.")
    parser.add_argument("--input", type=Path, help="Use these generated cases instead of generating (N is counted).")
    parser.add_argument("--phases", default="a,b,c", help="Which phases to run (default a,b,c; r: the report).")
    parser.add_argument("--format", choices=["jsonl", "csv", "xlsx"], default="jsonl",
                        help="Read the cases as JSON Lines, a flat-layout CSV folder or a workbook.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        phases = set(args.phases.split(","))
        generated = 0.0
        if args.input:
            data = args.input
            with data.open("rb") as handle:
                args.cases = sum(1 for _ in handle)
        else:
            data = work / "cases.jsonl"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "qa_engine", "generate", "--cases", str(args.cases), "--seed",
                            str(args.seed), "--out", str(data)], check=True)
            generated = time.perf_counter() - start
        exported = None
        if args.format != "jsonl":
            table_input = work / ("tables.xlsx" if args.format == "xlsx" else "tables")
            exported = phase(["export-csv", str(data), "--out", str(table_input)])
            data = table_input
        common = ["--as-of", "2016-02-15", "--no-report"]
        results = {"a_read_validate": phase(["validate", str(data)])} if "a" in phases else {}
        digests = {}
        for name, folder, jobs in (("b_audit_one_process", "b", 1), ("c_audit_all_cores", "c", args.jobs)):
            if folder not in phases:
                continue
            results[name] = phase(["audit", str(data), "--out", str(work / folder), "--jobs", str(jobs), *common])
            digests[folder] = sha256_file(work / folder / "findings.jsonl")
            if not args.keep:  # a million cases' findings take tens of gigabytes: keep one at a time
                shutil.rmtree(work / folder)
        same = digests["b"] == digests["c"] if len(digests) == 2 else None
        if "r" in phases:
            results.update(report_phases(data, work))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}")
    print(f"cases: {args.cases:,} (generated in {generated:.1f} s, seed {args.seed}); jobs for (c): {args.jobs}; "
          f"read as {args.format}" + (f" (export-csv took {exported['seconds']:.1f} s)" if exported else ""))
    for name, r in results.items():
        print(f"{name:22} {r['seconds']:9.1f} s {args.cases / r['seconds']:10,.0f} cases/s "
              f"peak RSS {r['peak_rss_mb']:7.0f} MB")
    if "a_read_validate" in results:
        a = results["a_read_validate"]["seconds"]
        ratios = [f"({k[0]})/(a) = {r['seconds'] / a:.1f}" for k, r in results.items() if k[0] in "bc"]
        print("; ".join([*ratios, f"(c) findings identical to (b): {same}"]))
    if "r_report_spread" in results:
        ratio = results["r_report_one_manager"]["seconds"] / results["r_report_spread"]["seconds"]
        print(f"report (one case manager)/(spread across case managers) = {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"cases": args.cases, "jobs": args.jobs, "format": args.format,
                                         "identical": same, "export": exported, **results}, indent=2))


if __name__ == "__main__":
    main()
