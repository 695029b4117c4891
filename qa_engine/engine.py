"""Running an audit: records in, one finding per case and rule out, with the summary, rejections and run record.

The flow for each record: validate (or reject), derive facts as of the audit date, evaluate every
compiled ruleset with durable_rules, reduce the firings to one finding per rule, write, count.
Records are streamed: nothing but the summary counters and the set of case ids grows with the batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from qa_engine import __version__
from qa_engine._durable import durable_version, get_backend
from qa_engine.calendar import WorkingCalendar
from qa_engine.compile import CompiledPack, compile_pack
from qa_engine.errors import InputError
from qa_engine.facts import derive
from qa_engine.findings import Finding, Summary, SummaryBuilder, reduce
from qa_engine.records import LEVEL_NAME, CaseRecord
from qa_engine.rules import Policy, RulePack, load_policy, load_rules
from qa_engine.sources import RawRecord, read_inputs
from qa_engine.validation import Rejection, Validator

__all__ = ["AuditResult", "Auditor", "audit", "validate_inputs"]

log = structlog.get_logger("qa_engine")

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}


class Auditor:
    """Judges validated case records against a compiled rule pack, as of one audit date."""

    def __init__(self, pack: RulePack, policy: Policy | None = None, as_of: dt.date | None = None) -> None:
        self.pack = pack
        self.policy = policy or Policy()
        self.as_of = as_of or dt.date.today()
        self.compiled: CompiledPack = compile_pack(pack, self.policy)
        self.calendar = WorkingCalendar(self.policy.region, self.policy.closure_days)
        self.backend = get_backend()
        for ruleset in self.compiled.rulesets:
            self.backend.register(ruleset)

    def audit_record(self, record: CaseRecord) -> list[Finding]:
        """One finding per rule, in rule-id order."""
        facts = derive(record, self.as_of, self.calendar, self.policy.settings)
        rosh = facts.case.get("rosh_level")
        meta = {
            "case_id": record.case_id,
            "team": record.team,
            "case_manager_id": record.case_manager_id,
            "order_type": record.order.order_type.value,
            "sentence_date": record.order.sentence_date.isoformat(),
            "risk_level": LEVEL_NAME[rosh] if rosh else None,
        }
        by_rule: dict[str, list] = {rule_id: [] for rule_id in self.compiled.rules}
        for ruleset in self.compiled.rulesets:
            for firing in self.backend.evaluate(ruleset, facts):
                by_rule[firing.variant.rule_id].append(firing)
        return [reduce(self.compiled.rules[rule_id], by_rule[rule_id], facts.case, meta) for rule_id in sorted(by_rule)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dump(model: Any) -> str:
    return json.dumps(model.model_dump(mode="json"), ensure_ascii=False, sort_keys=False)


@dataclass
class AuditResult:
    """What an audit produced: where, how many, and how the criteria came out."""

    out_dir: Path
    summary: Summary
    counts: dict[str, int]
    worst_not_met: str | None
    run: dict[str, Any] = field(default_factory=dict)


class _AtomicFile:
    """Write to NAME.partial and rename to NAME only when complete, so no half-written file looks finished."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".partial")
        self.handle = self.tmp.open("w", encoding="utf-8", newline="\n")

    def write_line(self, text: str) -> None:
        self.handle.write(text + "\n")

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.tmp, self.path)

    def abandon(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


def _write_json(path: Path, data: Any) -> None:
    out = _AtomicFile(path)
    out.handle.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    out.commit()


def _input_manifest(inputs: list[str]) -> list[dict[str, Any]]:
    manifest = []
    for name in inputs:
        if name == "-":
            manifest.append({"path": "<stdin>", "sha256": None})
        else:
            path = Path(name)
            manifest.append({"path": str(path), "sha256": _sha256(path) if path.is_file() else None})
    return manifest


def audit(
    inputs: list[str],
    out_dir: Path | str,
    *,
    rules_dir: Path | str | None = None,
    policy_path: Path | str | None = None,
    as_of: dt.date | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> AuditResult:
    """Audit exported case records and write findings.jsonl, summary.json, rejected.jsonl and run.json.

    With ``sample``, audit a random sample of that many valid records, stratified by order type (as an
    inspection samples about 30 cases); the other valid records are counted as ``not_sampled``.

    Raises:
        ConfigError: rules, policy or an input file cannot be used (nothing is judged).
    """
    started = time.perf_counter()
    as_of = as_of or dt.date.today()
    pack = load_rules(rules_dir)
    policy = load_policy(policy_path, pack)
    auditor = Auditor(pack, policy, as_of)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stale = out / "run.json"
    stale.unlink(missing_ok=True)  # a run.json only ever describes the files beside it

    log.info("audit.start", inputs=len(inputs), rules=len(pack.rules), rulesets=len(auditor.compiled.rulesets),
             as_of=as_of.isoformat())
    summary = SummaryBuilder(list(auditor.compiled.rules.values()), pack.criteria, as_of.isoformat())
    counts = {"records_read": 0, "audited": 0, "rejected": 0}
    chosen: set[int] | None = None
    sample_info = None
    if sample is not None:
        chosen, strata = _choose_sample(inputs, sample, seed)
        counts["not_sampled"] = 0
        sample_info = {"size": len(chosen), "requested": sample, "seed": seed, "stratified_by": "order_type",
                       "strata": strata}
    worst = 0
    findings_file = _AtomicFile(out / "findings.jsonl")
    rejected_file = _AtomicFile(out / "rejected.jsonl")
    try:
        for ordinal, item in enumerate(_validated(read_inputs(inputs), counts)):
            if chosen is not None and not isinstance(item, Rejection) and ordinal not in chosen:
                counts["not_sampled"] += 1
                continue
            if isinstance(item, Rejection):
                rejected_file.write_line(_dump(item))
                log.warning("record.rejected", source=item.source, position=item.position, case_id=item.case_id,
                            pointer=item.pointer, reason=item.reason)
                continue
            findings = auditor.audit_record(item)
            for finding in findings:
                findings_file.write_line(_dump(finding))
                if finding.outcome == "not_met":
                    worst = max(worst, SEVERITY_RANK[finding.severity])
            summary.add_case(findings)
            counts["audited"] += 1
        findings_file.commit()
        rejected_file.commit()
    except BaseException:
        findings_file.abandon()
        rejected_file.abandon()
        raise
    built = summary.build()
    _write_json(out / "summary.json", built.model_dump(mode="json"))
    run = {
        "qa_engine_version": __version__,
        "durable_rules_version": durable_version(),
        "as_of": as_of.isoformat(),
        "inputs": _input_manifest(inputs),
        "counts": counts,
        "rule_pack": {
            "directory": str(pack.directory),
            "sha256": pack.sha256,
            "rules": [{"id": r.id, "sha256": r.sha256} for r in pack.rules],
            "rulesets": [rs.name for rs in auditor.compiled.rulesets],
        },
        "policy": policy.as_dict(),
        "sample": sample_info,
        "outputs": {name: _sha256(out / name) for name in ("findings.jsonl", "rejected.jsonl", "summary.json")},
        "duration_seconds": round(time.perf_counter() - started, 3),
        "complete": True,
    }
    _write_json(out / "run.json", run)
    log.info("audit.done", **counts, duration_seconds=run["duration_seconds"])
    worst_name = next((k for k, v in SEVERITY_RANK.items() if v == worst), None)
    return AuditResult(out_dir=out, summary=built, counts=counts, worst_not_met=worst_name, run=run)


def _choose_sample(inputs: list[str], size: int, seed: int) -> tuple[set[int], dict[str, dict[str, int]]]:
    """Ordinals of a random sample of valid records, allocated to order types in proportion (largest remainder)."""
    import random

    if "-" in inputs:
        msg = "--sample reads the inputs twice, so it needs files, not standard input"
        raise InputError(msg)
    if size < 1:
        msg = "--sample must be at least 1"
        raise InputError(msg)
    by_type: dict[str, list[int]] = {}
    validator = Validator()
    for ordinal, raw in enumerate(read_inputs(inputs)):
        result = validator.validate(raw)
        if not isinstance(result, Rejection):
            by_type.setdefault(result.order.order_type.value, []).append(ordinal)
    total = sum(len(v) for v in by_type.values())
    size = min(size, total)
    exact = {k: size * len(v) / total for k, v in by_type.items()} if total else {}
    quota = {k: int(q) for k, q in exact.items()}
    for k in sorted(exact, key=lambda k: (-(exact[k] - quota[k]), k))[: size - sum(quota.values())]:
        quota[k] += 1
    rng = random.Random(seed)
    chosen: set[int] = set()
    for kind in sorted(by_type):
        chosen.update(rng.sample(by_type[kind], quota[kind]))
    strata = {kind: {"records": len(by_type[kind]), "sampled": quota[kind]} for kind in sorted(by_type)}
    return chosen, strata


def _validated(raws: Iterable[RawRecord], counts: dict[str, int]) -> Iterable[CaseRecord | Rejection]:
    validator = Validator()
    for raw in raws:
        counts["records_read"] += 1
        result = validator.validate(raw)
        if isinstance(result, Rejection):
            counts["rejected"] += 1
        yield result


def validate_inputs(inputs: list[str], out_dir: Path | str | None = None) -> tuple[dict[str, int], list[Rejection]]:
    """Validate only: counts, and every rejection (also written to OUT/rejected.jsonl when out_dir is given)."""
    counts = {"records_read": 0, "valid": 0, "rejected": 0}
    rejections: list[Rejection] = []
    validator = Validator()
    for raw in read_inputs(inputs):
        counts["records_read"] += 1
        result = validator.validate(raw)
        if isinstance(result, Rejection):
            counts["rejected"] += 1
            rejections.append(result)
            log.warning("record.rejected", source=result.source, position=result.position, case_id=result.case_id,
                        pointer=result.pointer, reason=result.reason)
        else:
            counts["valid"] += 1
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        target = _AtomicFile(out / "rejected.jsonl")
        for rejection in rejections:
            target.write_line(_dump(rejection))
        target.commit()
    return counts, rejections
