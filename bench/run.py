"""Benchmark: generate N cases, then measure (a) read + validate, (b) the full audit in one process, (c) on all cores,
(d) the rule evaluation alone.

Usage: python bench/run.py --cases N [--seed S] [--jobs J] [--keep DIR] [--json FILE]
       [--input FILE] [--phases a,b,c,d,r] [--format jsonl|csv|xlsx] [--repeat K] [--baseline DIR]

Each phase runs the real command line in a fresh process (``qa-engine validate``, ``qa-engine audit
--jobs 1 --no-report``, ``qa-engine audit --jobs J --no-report``) as of 2016-02-15 with the shipped
rule pack. Reported per phase: wall time, cases per second, and peak RSS (the largest resident set
of the phase's own process and of any worker process it started, from getrusage). The ratios
(b)/(a) and (c)/(a) compare the audit's time with reading and validating the same records.
With ``--format csv`` (or ``xlsx``) the cases are first written with ``qa-engine export-csv`` as the
flat layout's folder of CSV files (or one workbook) and every phase reads that instead: the
tables are joined into records through the mapping, so (a) measures the join.

Phase (d) is the evaluation alone, facts in, outcomes out, in one process: every record is read,
validated and its facts derived untimed; the CPU time of evaluating the compiled rulesets on those
facts (durable_rules and the adapter) and reducing the firings to one outcome per rule is summed.

``--baseline DIR`` runs every phase also with another checkout's install (``DIR/.venv/bin/python``,
e.g. a ``git worktree`` of the commit before a change), interleaved with this one phase by phase
(A B A B, ``--repeat`` times), and prints the median of each and the median of the pair-by-pair
ratios: this machine's speed drifts by a quarter between runs, so only side-by-side figures compare.
Each phase runs in a scratch folder, so neither install imports the other's source.

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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from qa_engine.trust.files import sha256_file

MEASURED_COMMAND = r"""
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
"""A qa-engine command run by ``python -c MEASURED_COMMAND ARGS_AS_JSON`` in a fresh process: its last line of stderr
is JSON with its exit code and peak resident memory in MB, its own (``own_mb``) and its worker processes'
(``worker_mb``), from getrusage. Only the command line is used, so any commit's install can run it (--baseline);
tests/test_resource_limits.py measures hostile inputs with it too."""


# Phase (d): only APIs that the commits compared share (Auditor, its backend's evaluate, derive, read_inputs,
# Validator.check); no firing for a rule means its default outcome where the compiled rule has one.
_EVALUATE = r"""
import datetime as dt, json, resource, sys, time
from qa_engine.exports.sources import read_inputs
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.facts.derive import derive
from qa_engine.judge.auditor import Auditor
from qa_engine.rulepack.load import load_policy, load_rules

pack = load_rules(None)
auditor = Auditor(pack, load_policy(None, pack), dt.date(2016, 2, 15))
rulesets, evaluate = auditor.compiled.rulesets, auditor.backend.evaluate
defaults = {rule_id: getattr(rule, "default", None) for rule_id, rule in auditor.compiled.rules.items()}
precedence = ("not_met", "insufficient_data", "met")
cpu = 0.0
cases = 0
tally = {}
for raw in read_inputs([sys.argv[1]]):
    record = Validator.check(raw)
    if isinstance(record, Rejection):
        continue
    facts = derive(record, auditor.as_of, auditor.calendar, auditor.policy.settings)
    start = time.process_time()
    outcomes = dict(defaults)
    items = {}
    for ruleset in rulesets:
        for firing in evaluate(ruleset, facts):
            variant = firing.variant
            if variant.scope == "case":
                outcomes[variant.rule_id] = variant.outcome
            else:
                items.setdefault(variant.rule_id, set()).add(variant.outcome)
    for rule_id, fired in items.items():
        outcomes[rule_id] = next(o for o in precedence if o in fired)
    cpu += time.process_time() - start
    cases += 1
    for key in outcomes.items():
        tally[key] = tally.get(key, 0) + 1
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"cpu_seconds": cpu, "cases": cases, "own_mb": own / 1024, "worker_mb": 0, "exit": 0,
                  "outcomes": sorted([*key, n] for key, n in tally.items())}), file=sys.stderr)
"""


def phase(args: list[str], python: str = sys.executable, cwd: Path | None = None) -> dict[str, float]:
    """Run one qa-engine command in a fresh process: seconds and peak RSS."""
    return _run([python, "-c", MEASURED_COMMAND, json.dumps(["--log-level", "error", *args])], args[0], cwd)


def evaluate_phase(data: Path, python: str = sys.executable, cwd: Path | None = None) -> dict[str, float]:
    """Phase (d): the CPU seconds of evaluating the rules alone, facts in, outcomes out."""
    result = _run([python, "-c", _EVALUATE, str(data)], "evaluation", cwd)
    result["seconds"] = result.pop("cpu_seconds")
    return result


def _run(command: list[str], what: str, cwd: Path | None) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)
    seconds = time.perf_counter() - start
    try:
        memory = json.loads(done.stderr.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        memory = {"exit": done.returncode}
    if done.returncode or memory.pop("exit") not in (0, 1):  # 1: validate found rejected records, as inputs may hold
        msg = f"{what} failed:\n{done.stdout}{done.stderr}"
        raise SystemExit(msg)
    return {"seconds": seconds, "peak_rss_mb": max(memory["own_mb"], memory["worker_mb"]), **memory}


def canonical_digest(path: Path) -> str:
    """A digest of a findings file that ignores how its JSON was spaced (each line re-encoded with orjson)."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for line in handle:
            digest.update(orjson.dumps(orjson.loads(line)) + b"\n")
    return digest.hexdigest()


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


_NAMES = {"a": "a_read_validate", "b": "b_audit_one_process", "c": "c_audit_all_cores", "d": "d_evaluation_only"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--keep", type=Path, help="Keep the generated input and outputs in this folder.")
    parser.add_argument("--json", type=Path, help="Also write the results as JSON to this file.")
    parser.add_argument("--input", type=Path, help="Use these generated cases instead of generating (N is counted).")
    parser.add_argument("--phases", default="a,b,c,d",
                        help="Which phases to run (default a,b,c,d; r: the report).")
    parser.add_argument("--format", choices=["jsonl", "csv", "xlsx"], default="jsonl",
                        help="Read the cases as JSON Lines, a flat-layout CSV folder or a workbook.")
    parser.add_argument("--repeat", type=int, default=1, help="Run every phase this many times (medians shown).")
    parser.add_argument("--baseline", type=Path,
                        help="A checkout of another commit with its own .venv: run every phase with it too, interleaved.")
    args = parser.parse_args()
    installs = [("new", sys.executable)]
    if args.baseline:
        base_python = args.baseline.resolve() / ".venv" / "bin" / "python"
        if not base_python.exists():
            raise SystemExit(f"no {base_python}: make a venv in the baseline checkout and pip install -e . there")
        installs.append(("base", str(base_python)))
    with tempfile.TemporaryDirectory() as tmp:
        work = (args.keep or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        scratch = work / "scratch"  # each phase's working folder: a checkout's own source is never on its path
        scratch.mkdir(exist_ok=True)
        phases = [p for p in "abcd" if p in args.phases.split(",")]
        generated = 0.0
        if args.input:
            data = args.input.resolve()
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
        runs: dict[str, dict[str, list[dict[str, float]]]] = {label: {} for label, _ in installs}
        digests: dict[str, dict[str, str]] = {label: {} for label, _ in installs}
        for repeat in range(args.repeat):
            for name in phases:
                for label, python in installs:  # interleaved: A B A B
                    if name == "a":
                        result = phase(["validate", str(data)], python, scratch)
                    elif name == "d":
                        result = evaluate_phase(data, python, scratch)
                    else:
                        folder = work / f"{name}-{label}"
                        jobs = 1 if name == "b" else args.jobs
                        result = phase(["audit", str(data), "--out", str(folder), "--jobs", str(jobs), *common],
                                       python, scratch)
                        if repeat == 0:
                            digests[label][name] = sha256_file(folder / "findings.jsonl")
                            if args.baseline and name == "c":
                                digests[label]["c_canonical"] = canonical_digest(folder / "findings.jsonl")
                        if not args.keep:  # a million cases' findings take tens of gigabytes: keep one at a time
                            shutil.rmtree(folder)
                    runs[label].setdefault(_NAMES[name], []).append(result)
        reports = report_phases(data, work) if "r" in args.phases.split(",") else {}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}")
    print(f"cases: {args.cases:,} (generated in {generated:.1f} s, seed {args.seed}); jobs for (c): {args.jobs}; "
          f"read as {args.format}" + (f" (export-csv took {exported['seconds']:.1f} s)" if exported else "")
          + (f"; {args.repeat} runs each, medians" if args.repeat > 1 else ""))
    medians = {}
    for label, by_phase in runs.items():
        medians[label] = {}
        for name, results in by_phase.items():
            seconds = statistics.median(r["seconds"] for r in results)
            peak = max(r["peak_rss_mb"] for r in results)
            medians[label][name] = {"seconds": seconds, "peak_rss_mb": peak}
            unit = "CPU s" if name.startswith("d") else "s"
            print(f"{label:4} {name:22} {seconds:9.2f} {unit:5} {args.cases / seconds:10,.0f} cases/s "
                  f"peak RSS {peak:7.0f} MB")
        if "a_read_validate" in medians[label]:
            a = medians[label]["a_read_validate"]["seconds"]
            ratios = [f"({k[0]})/(a) = {r['seconds'] / a:.1f}" for k, r in medians[label].items() if k[0] in "bc"]
            same = digests[label]["b"] == digests[label]["c"] if {"b", "c"} <= set(digests[label]) else None
            print(f"{label:4} " + "; ".join([*ratios, f"(c) findings identical to (b): {same}"]))
    speedups = {}
    if args.baseline:
        for name in runs["new"]:
            pairs = [b["seconds"] / n["seconds"] for n, b in zip(runs["new"][name], runs["base"][name], strict=True)]
            speedups[name] = statistics.median(pairs)
            print(f"speed-up new/base {name:22} {speedups[name]:5.2f}x (median of {len(pairs)} interleaved pairs: "
                  + ", ".join(f"{p:.2f}" for p in pairs) + ")")
        if "c_canonical" in digests["new"]:
            print(f"(c) findings new = base: bytes {digests['new']['c'] == digests['base']['c']}, "
                  f"values (spacing aside) {digests['new']['c_canonical'] == digests['base']['c_canonical']}")
        if "d_evaluation_only" in runs["new"]:
            same = runs["new"]["d_evaluation_only"][0]["outcomes"] == runs["base"]["d_evaluation_only"][0]["outcomes"]
            print(f"(d) outcomes new = base: {same}")
    for name, r in reports.items():
        print(f"{name:22} {r['seconds']:9.1f} s peak RSS {r['peak_rss_mb']:7.0f} MB")
    if "r_report_spread" in reports:
        ratio = reports["r_report_one_manager"]["seconds"] / reports["r_report_spread"]["seconds"]
        print(f"report (one case manager)/(spread across case managers) = {ratio:.2f}")
    if args.json:
        for by_phase in runs.values():
            for results in by_phase.values():
                for r in results:
                    r.pop("outcomes", None)
        args.json.write_text(json.dumps({"cases": args.cases, "jobs": args.jobs, "format": args.format,
                                         "repeat": args.repeat, "digests": digests, "export": exported,
                                         "medians": medians, "speedups": speedups, "runs": runs, **reports},
                                        indent=2))


if __name__ == "__main__":
    main()
