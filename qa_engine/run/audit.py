"""Running an audit: records in, one finding per case and rule out, with the summary, rejections and run record.

The flow for each record: validate (or reject), derive facts as of the audit date, evaluate every
compiled ruleset with durable_rules, reduce the firings to one finding per rule, write, count.
Records are streamed: nothing but the summary counters and the set of case ids grows with the batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from qa_engine.base.errors import InputError
from qa_engine.base.version import __version__
from qa_engine.exports.raw import DEFAULT_LIMITS, Limits, RawRecord
from qa_engine.exports.sources import export_mapping, read_inputs, refuse_lone_table
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.facts.parts import coverage
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.batch import Progress, WorkerConfig, judge_batch
from qa_engine.judge.durable_adapter import durable_version
from qa_engine.judge.findings import Summary, SummaryBuilder
from qa_engine.report import OUTPUTS
from qa_engine.rulepack.load import load_policy, load_rules
from qa_engine.rulepack.model import SEVERITY_RANK
from qa_engine.run.folder import DEFAULT_KEEP_EARLIER, RunFolder, check_out, open_run_folder
from qa_engine.trust.files import AtomicFile, json_line, make_folder, sha256_file, write_json
from qa_engine.trust.pseudonyms import Pseudonymiser, month
from qa_engine.trust.runkey import run_key
from qa_engine.trust.verify import seal_run

if TYPE_CHECKING:
    from qa_engine.exports.assemble import HeldDates
    from qa_engine.exports.mapping import Mapping

__all__ = ["AHEAD_AFTER_DAYS", "DEFAULT_MAX_REJECTED", "STALE_AFTER_DAYS", "STOP", "AuditResult", "audit", "finish_run",
           "read_too_little", "rejudge", "start_run", "validate_inputs"]

DEFAULT_MAX_REJECTED = 0.5
"""A run that rejects more than this share of the records it read has read too little to be trusted (exit 3)."""

log = structlog.get_logger("qa_engine")

STALE_AFTER_DAYS = 90
"""An audit date this many days or more after the newest date in the records draws a warning (and a suggested
--as-of): every deadline since the export was taken would count as missed. A setting of qa_engine, not a rule of
practice."""

AHEAD_AFTER_DAYS = 31
"""A newest date in the records more than this many days after the audit date draws a warning: a record holds what
was done, not planned (records/newest.py PLANNED), so such a date is most likely a day and month read the wrong way
round or a wrong --as-of. A setting of qa_engine, not a rule of practice (the shipped example has entries up to 7 days
after its audit date)."""

STOP = threading.Event()
"""Set (by the CLI's Ctrl-C handler) to stop a run between two records, never inside durable_rules."""



_COUNTED = {"record": "rejected", "unmatched_row": "unmatched_rows", "out_of_scope": "out_of_scope"}
"""The count a rejection of each kind adds to."""


def _log_rejection(item: Rejection) -> None:
    """One log event per rejected record: where, which field, why (never the value)."""
    log.warning("record.rejected", source=item.source, position=item.position, case_id=item.case_id,
                pointer=item.pointer, reason=item.reason, where=item.problems[0].where, problems=len(item.problems),
                kind=item.kind)


@dataclass
class AuditResult:
    """What an audit produced: where, how many, and how the criteria came out."""

    out_dir: Path
    summary: Summary
    counts: dict[str, int]
    worst_not_met: str | None
    run: dict[str, Any] = field(default_factory=dict)
    earlier_moved_to: Path | None = None
    """Where the earlier run in out_dir was moved when this one took its place (None if there was none)."""
    earlier_removed: list[Path] = field(default_factory=list)
    """Earlier runs removed when this one took its place, beyond the ``keep_earlier`` most recent."""
    earlier_held_back: list[tuple[Path, str]] = field(default_factory=list)
    """Earlier runs beyond the ``keep_earlier`` most recent that were kept, each with why (a file changed since)."""
    read_too_little: str | None = None
    """Why the run read too little of its input to be trusted (see read_too_little), or None."""


def read_too_little(counts: dict[str, int], max_rejected: float, first: str | None = None) -> str | None:
    """One sentence saying the input could not be read, when no record was audited or more than ``max_rejected`` (a
    share, 0 to 1) of the records judged or rejected were rejected; None when enough was read. ``first`` is the first
    rejection's reason, to show what went wrong."""
    judged = counts["audited"] + counts["rejected"]
    shown = f" The first: {first.rstrip().rstrip('.')}." if first else ""
    if counts["audited"] == 0:
        if judged == 0:
            return "The input could not be read: it holds no case record. Check that the right file or folder was given."
        return (f"The export could not be read: none of its {judged} records could be audited (see rejected.jsonl for "
                f"each one's reason).{shown}")
    share = counts["rejected"] / judged
    if share > max_rejected:
        return (f"The export could not be read well enough to trust the results: {counts['rejected']} of its {judged} "
                f"records ({round(100 * share)}%) could not be audited, over the limit of {round(100 * max_rejected)}% "
                f"(--max-rejected); see rejected.jsonl for each one's reason.{shown}")
    return None


def _input_manifest(inputs: list[str], mapping: Mapping | None) -> list[dict[str, Any]]:
    from qa_engine.exports.assemble import export_files, is_export

    manifest = []
    for name in inputs:
        if name == "-":
            manifest.append({"path": "<stdin>", "sha256": None})
            continue
        path = Path(name)
        if is_export(path):
            used = export_mapping(name, mapping)
            manifest.extend({"path": str(p.resolve()), "sha256": sha256_file(p)} for p in export_files(path, used))
            continue
        manifest.append({"path": str(path.resolve()), "sha256": sha256_file(path) if path.is_file() else None})
    return manifest


def start_run(out: Path | str, inputs: list[str], keep_earlier: int = DEFAULT_KEEP_EARLIER) -> RunFolder:
    """Check and lock the run folder ``out``, and open the sibling folder the new run is written into.

    The earlier run in ``out`` (if any) is untouched until ``finish_run``, which moves it aside and keeps the
    ``keep_earlier`` most recent earlier runs (see run/folder.py).

    Raises:
        RunFolderError: ``out`` is not a run folder, is a system folder, holds an input, or is being written.
    """
    return open_run_folder(out, inputs, keep_earlier)


def finish_run(folder: RunFolder, run: dict[str, Any], started: float | None = None,
               hashed: dict[str, str] | None = None) -> dict[str, Any]:
    """Hash every output present, write run.json last (marked complete), then swap the new run into place.

    ``started`` (a perf_counter reading) sets ``duration_seconds`` to the whole run, report included.
    ``hashed`` gives the sha256 of outputs hashed as they were written (findings.jsonl, 36 KB a case,
    is not read back a second time).
    """
    out = folder.build
    hashed = hashed or {}
    if started is not None:
        run = {**run, "duration_seconds": round(time.perf_counter() - started, 3)}
    outputs = {name: hashed.get(name) or sha256_file(out / name) for name in OUTPUTS if (out / name).exists()}
    run = seal_run({**run, "outputs": outputs, "complete": True})
    write_json(out / "run.json", run)
    folder.commit()
    return run


def audit(
    inputs: list[str],
    out_dir: Path | str,
    *,
    rules_dir: Path | str | None = None,
    policy_path: Path | str | None = None,
    as_of: dt.date | None = None,
    sample: int | None = None,
    seed: int = 0,
    report: bool = False,
    compare: Path | str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    pseudonym_key: bytes | None = None,
    jobs: int = 1,
    progress: bool = False,
    mapping: Mapping | None = None,
    judgements: list[Path] | None = None,
    max_rejected: float = DEFAULT_MAX_REJECTED,
    keep_earlier: int = DEFAULT_KEEP_EARLIER,
) -> AuditResult:
    """Audit exported case records and write findings.jsonl, summary.json, rejected.jsonl (and the report), then run.json.

    With ``sample``, audit a random sample of that many valid records, stratified by order type (as an
    inspection samples about 30 cases); the other valid records are counted as ``not_sampled``. With
    ``pseudonym_key``, case and staff ids in every output are replaced by keyed pseudonyms. ``jobs``
    worker processes judge the records; the output is the same bytes whatever their number. An input
    that is a folder of CSV files or a workbook is read through ``mapping`` (see sources.read_inputs);
    its rows that join no case are listed in rejected.jsonl and counted as ``unmatched_rows``.
    With ``judgements`` (audit forms written by ``qa-engine audit-form`` from a run of the same inputs,
    audit date, rules, policy, sample and seed), each case's answers become its practice judgements
    (see run/judgements.py) and judgements.json is written.
    When no record was audited, or more than ``max_rejected`` (a share, 0 to 1) of them were rejected, the result's
    ``read_too_little`` says so in one sentence, which also opens the report (the CLI exits 3).
    When the run is complete, the earlier run in ``out_dir`` moves aside and only the ``keep_earlier`` most recent
    earlier runs are kept (one with a file changed since is never removed; see run/folder.py).

    Raises:
        ConfigError: rules, policy, an input file or an audit form cannot be used (nothing is judged).
    """
    started = time.perf_counter()
    as_of_given = as_of is not None
    as_of = as_of or dt.date.today()
    pack = load_rules(rules_dir)
    policy = load_policy(policy_path, pack)
    pseudonym = Pseudonymiser(pseudonym_key) if pseudonym_key else None
    auditor = Auditor(pack, policy, as_of, pseudonym)
    out = Path(out_dir)
    _check_inputs(inputs, mapping, limits)
    check_out(out, inputs)
    run_mapping = _run_mapping(inputs, mapping)
    chosen: set[int] | None = None
    valid: set[int] = set()
    repeated: dict[int, Rejection] = {}
    sample_info = None
    if sample is not None:
        chosen, valid, repeated, strata = _choose_sample(inputs, sample, seed, limits, mapping)
        sample_info = {"size": len(chosen), "requested": sample, "seed": seed, "stratified_by": "order_type",
                       "strata": strata}
    identity = {"as_of": as_of.isoformat(), "inputs": _input_manifest(inputs, mapping),
                "rule_pack": {"sha256": pack.sha256}, "policy": policy.as_dict(), "mapping": _mapping_info(run_mapping),
                "sample": sample_info, "pseudonymised": pseudonym is not None}
    forms = None
    if judgements:
        from qa_engine.run.judgements import load_judgements

        if "-" in inputs:
            msg = "--judgements reads the inputs twice, so it needs files, not standard input"
            raise InputError(msg)
        case_ids = _case_ids(inputs, limits, mapping, chosen, pseudonym)
        forms = load_judgements([Path(p) for p in judgements], run_key=run_key(identity), pack=pack, as_of=as_of,
                                case_ids=case_ids)
        auditor.judgements = forms.practice_judgements()
    folder = start_run(out, inputs, keep_earlier)
    work = folder.build
    try:
        log.info("audit.start", inputs=len(inputs), rules=len(pack.rules), rulesets=len(auditor.compiled.rulesets),
                 as_of=as_of.isoformat())
        summary = SummaryBuilder(list(auditor.compiled.rules.values()), pack.criteria, as_of.isoformat())
        counts = {"records_read": 0, "audited": 0, "rejected": 0}
        if chosen is not None:
            counts["not_sampled"] = 0
        if _has_export(inputs):
            counts["unmatched_rows"] = 0
        findings_file = AtomicFile(work / "findings.jsonl")
        findings_sha256 = hashlib.sha256()  # hashed as written, for run.json
        rejected_file = AtomicFile(work / "rejected.jsonl")
        config = WorkerConfig(str(rules_dir) if rules_dir else None, str(policy_path) if policy_path else None,
                              as_of, pseudonym_key, run_mapping, auditor.judgements or None)
        audited_ids: set[str] = set()
        meter = Progress(_count_records(inputs) if progress and sys.stderr.isatty() else None, enabled=progress)
        duplicates = Validator()
        newest: str | None = None
        sent: deque[int] = deque()  # the ordinal of each record sent to be judged, in order
        first_rejection: list[str] = []
        out_of_scope: dict[str, int] = {}
        held_dates: list[HeldDates] = []  # date columns held back, said once each (exports/assemble.py)

        def wanted() -> Iterator[RawRecord]:
            for ordinal, raw in enumerate(read_inputs(inputs, limits, mapping, held_dates)):
                if raw.unmatched:
                    sent.append(-1)
                    yield raw
                    continue
                counts["records_read"] += 1
                if chosen is not None and ordinal in valid and ordinal not in chosen:
                    counts["not_sampled"] += 1
                    continue
                sent.append(ordinal)
                yield raw

        try:
            for judged in _until_stopped(judge_batch(wanted(), config, auditor, jobs)):
                if STOP.is_set():
                    raise KeyboardInterrupt
                item = repeated.get(sent.popleft())  # a duplicate found before sampling stays a duplicate
                if item is not None:
                    item = item.model_copy(update={"case_id": pseudonym(item.case_id)}) if pseudonym and item.case_id else item
                else:
                    item = judged.rejection
                if item is None:
                    admitted = duplicates.admit(_Key(judged.case_id), judged.raw)
                    if isinstance(admitted, Rejection):
                        item = admitted.model_copy(update={"case_id": pseudonym(judged.case_id)}) if pseudonym else admitted
                if item is not None:
                    counts[_COUNTED[item.kind]] = counts.get(_COUNTED[item.kind], 0) + 1
                    if item.kind == "out_of_scope":
                        out_of_scope[item.disposal or ""] = out_of_scope.get(item.disposal or "", 0) + 1
                    if item.kind == "record" and not first_rejection:
                        first_rejection.append(item.problems[0].describe(f"{item.source} {item.position}"))
                    rejected_file.write_line(json_line(item))
                    _log_rejection(item)
                    if judged.outcomes:  # judged and counted by the worker, then refused here (a duplicate)
                        summary.remove(judged.outcomes)
                else:
                    findings_file.write_encoded(judged.findings)
                    findings_sha256.update(judged.findings)
                    if judged.newest and (newest is None or judged.newest > newest):
                        newest = judged.newest
                    counts["audited"] += 1
                    if forms is not None:
                        audited_ids.add(pseudonym(judged.case_id) if pseudonym else judged.case_id)
                if judged.tally is not None:
                    summary.merge(judged.tally)
                meter.update()
            findings_file.commit()
            rejected_file.commit()
        except BaseException:
            findings_file.abandon()
            rejected_file.abandon()
            raise
        finally:
            meter.close()
            duplicates.close()
        if sample_info is not None and counts["audited"] != sample_info["size"]:
            sample_info["not_judged"] = sample_info["size"] - counts["audited"]  # sampled, then rejected by the engine
            sample_info["size"] = counts["audited"]
        built = summary.build()
        write_json(work / "summary.json", built.model_dump(mode="json"))
        if forms is not None:
            forms.write(work, audited_ids, pseudonym)
        too_little = read_too_little(counts, max_rejected, first_rejection[0] if first_rejection else None)
        unknown = _unknown_parts(inputs, run_mapping)
        run = {
            "qa_engine_version": __version__,
            "durable_rules_version": durable_version(),
            "as_of": as_of.isoformat(),
            "audit_date": _audit_date(as_of, as_of_given, newest, shared=pseudonym is not None),
            "run_key": run_key(identity),
            "audited_inputs": list(inputs),
            "inputs": identity["inputs"],
            "mapping": identity["mapping"],
            "counts": counts,
            "read_too_little": too_little,
            "out_of_scope": dict(sorted(out_of_scope.items())) or None,
            "dates_held_back": [note.record(pseudonym or str) for note in held_dates] or None,
            "coverage": {"not_exported": unknown, "criteria": coverage(pack.rules, unknown)} if unknown else None,
            "max_rejected": max_rejected,
            "rule_pack": {
                "directory": str(pack.directory),
                "sha256": pack.sha256,
                "files": pack.files,
                "rules": [{"id": r.id, "sha256": r.sha256} for r in pack.rules],
                "rulesets": [rs.name for rs in auditor.compiled.rulesets],
            },
            "policy": policy.as_dict(),
            "sample": sample_info,
            "pseudonymised": pseudonym is not None,
            "limits": {"max_record_bytes": limits.max_record_bytes, "max_depth": limits.max_depth,
                       "max_document_bytes": limits.max_document_bytes},
            "jobs": jobs,
            "keep_earlier": keep_earlier,
            "duration_seconds": None,
            "started_at": folder.started_at,
        }
        if forms is not None:
            run["judgements"] = forms.record()
        if report:
            from qa_engine.report import build_report

            _stop_if_asked()
            build_report(work, compare, run=run, pack=pack)
        _stop_if_asked()  # a Ctrl-C while the summary or report was written: the new run is never swapped in
        run = finish_run(folder, run, started, hashed={"findings.jsonl": findings_sha256.hexdigest()})
        log.info("audit.done", **counts, duration_seconds=run["duration_seconds"],
                 earlier_run_moved_to=str(folder.moved_to) if folder.moved_to else None,
                 earlier_runs_removed=[str(p) for p in folder.removed],
                 earlier_runs_kept=[str(p) for p, _ in folder.held_back])
        worst_name = max((r.severity for r in built.rules if r.not_met), key=SEVERITY_RANK.__getitem__, default=None)
        return AuditResult(out_dir=out, summary=built, counts=counts, worst_not_met=worst_name, run=run,
                           earlier_moved_to=folder.moved_to, earlier_removed=folder.removed,
                           earlier_held_back=folder.held_back, read_too_little=too_little)
    except BaseException:
        if not folder.committed:
            folder.abandon()
        raise
    finally:
        folder.release()


def _audit_date(as_of: dt.date, given: bool, newest: str | None, shared: bool = False) -> dict[str, Any]:
    """How the audit date was chosen, and how far it lies after the newest date in the records (for run.json).

    When the audit date lies STALE_AFTER_DAYS or more after the newest date, ``suggested_as_of`` is that newest date:
    an export holds nothing done after the day it was taken, so that day or one just before it. When the newest date
    lies more than AHEAD_AFTER_DAYS after the audit date, ``ahead`` is true (the report and terminal warn). In a
    ``shared`` (pseudonymised) run the newest date is an event's date, so only its month is recorded (and no day count,
    which with the audit date would give the day back).
    """
    days = (as_of - dt.date.fromisoformat(newest)).days if newest else None
    stale = days is not None and days >= STALE_AFTER_DAYS
    ahead = days is not None and -days > AHEAD_AFTER_DAYS
    if shared and newest:
        newest, days = month(newest), None
    return {"as_of": as_of.isoformat(), "given": given, "newest_recorded": newest, "days_after_newest": days,
            "stale_after_days": STALE_AFTER_DAYS, "stale": stale,
            "suggested_as_of": newest if stale and not shared else None,
            "ahead_after_days": AHEAD_AFTER_DAYS, "ahead": ahead}


def _stop_if_asked() -> None:
    """Stop here if a first Ctrl-C came since the last record (see cli._stop_between_records)."""
    if STOP.is_set():
        raise KeyboardInterrupt


def _until_stopped(judged: Iterator[Any]) -> Iterator[Any]:
    """The batch's results; a worker pool broken by a Ctrl-C (a worker hit while starting) reads as the Ctrl-C."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        yield from judged
    except BrokenProcessPool:
        deadline = time.monotonic() + 1.0
        while not STOP.is_set() and time.monotonic() < deadline:  # the Ctrl-C handler may run a moment later
            time.sleep(0.05)
        if STOP.is_set():
            raise KeyboardInterrupt from None
        raise


@dataclass(frozen=True)
class _Key:
    """Just enough of a record for the duplicate check."""

    case_id: str


def _count_records(inputs: list[str]) -> int | None:
    """Records to expect, for a progress bar's time left: lines of JSON Lines files (None for other inputs)."""
    total = 0
    for name in inputs:
        if name == "-" or not name.lower().endswith((".jsonl", ".ndjson")):
            return None
        with open(name, "rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def _has_export(inputs: list[str]) -> bool:
    from qa_engine.exports.assemble import is_export

    return any(name != "-" and is_export(Path(name)) for name in inputs)


def _run_mapping(inputs: list[str], mapping: Mapping | None) -> Mapping | None:
    """The mapping the run's tabular inputs are read with (None when every input is JSON)."""
    if not _has_export(inputs):
        return None
    return mapping or export_mapping(next(n for n in inputs if n != "-" and _has_export([n])), None)


def _unknown_parts(inputs: list[str], mapping: Mapping | None) -> list[str]:
    """The parts of a record that some tabular input does not hold (unknown for its cases; see facts.parts)."""
    from qa_engine.exports.assemble import is_export, not_exported

    found: set[str] = set()
    for name in inputs:
        if name != "-" and is_export(Path(name)):
            found.update(not_exported(Path(name), export_mapping(name, mapping)))
    return sorted(found)


def _mapping_info(mapping: Mapping | None) -> dict[str, Any] | None:
    """Which mapping read the tabular inputs (None when every input was JSON)."""
    if mapping is None:
        return None
    return {"path": str(mapping.path) if mapping.path else None,
            "sha256": sha256_file(mapping.path) if mapping.path else None, "name": mapping.name}


def _check_inputs(inputs: list[str], mapping: Mapping | None = None, limits: Limits = DEFAULT_LIMITS) -> None:
    """Every input must be readable (and every table and column a mapping names present) before the output folder
    is touched."""
    from qa_engine.exports.assemble import check_export, is_export

    for name in inputs:
        if name == "-":
            continue
        path = Path(name)
        if is_export(path):
            check_export(path, export_mapping(name, mapping))
            continue
        refuse_lone_table(path)
        if not path.is_file() or not os.access(path, os.R_OK):
            msg = f"cannot read {name}: no such file, or not readable"
            raise InputError(msg)
        if not name.lower().endswith((".jsonl", ".ndjson")) and path.stat().st_size > limits.max_document_bytes:
            list(read_inputs([name], limits))  # raises the reader's own message, before the output folder is touched


def _case_ids(inputs: list[str], limits: Limits, mapping: Mapping | None, chosen: set[int] | None,
              pseudonym: Pseudonymiser | None) -> set[str]:
    """The case ids a run will audit (the sample's, if sampled), as its outputs name them: what an audit form may name."""
    ids: set[str] = set()
    for ordinal, raw in enumerate(read_inputs(inputs, limits, mapping)):
        if raw.unmatched or (chosen is not None and ordinal not in chosen):
            continue
        result = Validator.check(raw)
        if not isinstance(result, Rejection):
            ids.add(pseudonym(result.case_id) if pseudonym else result.case_id)
    return ids


def rejudge(run_dir: Path | str, judgements: list[Path], *, compare: Path | str | None = None, jobs: int = 1,
            progress: bool = False) -> AuditResult:
    """Judge a finished run again with audit forms' answers: the same inputs, date, rules, policy and sample.

    The run folder is audited into again (as ``qa-engine audit`` would with ``--judgements``), so its
    findings, summary and report take the managers' answers in.

    Why audit again rather than patch the practice-judgement findings in place: rules are data, and a
    rule pack's practice-judgement rule may test any fact of the case (its order type, a date), as a data
    rule may read a judgement fact; those facts are derived from the input records, which the run folder
    does not hold (findings.jsonl keeps only the facts each rule's evidence names). Only auditing again
    gives, byte for byte, what ``audit --judgements`` gives. With a sample, the usual case for forms, only
    the sampled cases are judged; the rest of the cost is reading the inputs.

    Raises:
        InputError: the run is incomplete or pseudonymised, an input or the rule pack has changed since,
            or a form is refused.
    """
    import json

    from qa_engine.exports.mapping import load_mapping
    from qa_engine.rulepack.load import load_rules

    folder = Path(run_dir)
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"{folder} is not a finished qa-engine run (run.json cannot be read)"
        raise InputError(msg) from exc
    if not run.get("complete"):
        msg = f"{folder} holds an incomplete run; audit again before reading audit forms into it"
        raise InputError(msg)
    if run.get("pseudonymised"):
        msg = (f"{folder} is a pseudonymised run: read the forms with qa-engine audit INPUT... --pseudonymise --key-file "
               "KEY --judgements FORM.xlsx, with the run's other options")
        raise InputError(msg)
    if "audited_inputs" not in run:
        msg = f"{folder} was written by an older qa_engine that did not record its inputs: audit again with --judgements"
        raise InputError(msg)
    mapping = load_mapping(Path(run["mapping"]["path"])) if (run.get("mapping") or {}).get("path") else None
    inputs = list(run["audited_inputs"])
    missing = next((name for name in inputs if name != "-" and not Path(name).exists()), None)
    if missing is not None:
        msg = (f"cannot find the run's input {missing} (paths are as the audit was given them: run this from the "
               "folder the audit ran in)")
        raise InputError(msg)
    for before, now in zip(run["inputs"], _input_manifest(inputs, mapping), strict=False):
        if before.get("sha256") != now.get("sha256"):
            msg = f"the input {now['path']} has changed since the run; audit it again, then write a new form"
            raise InputError(msg)
    rules_dir = run["rule_pack"]["directory"]
    if load_rules(rules_dir).sha256 != run["rule_pack"]["sha256"]:
        msg = f"the rule pack in {rules_dir} has changed since the run; audit again, then write a new form"
        raise InputError(msg)
    sample = run.get("sample") or None
    limits = run.get("limits") or {}
    return audit(inputs, folder, rules_dir=rules_dir, policy_path=(run.get("policy") or {}).get("path"),
                 as_of=dt.date.fromisoformat(run["as_of"]), sample=sample["requested"] if sample else None,
                 seed=sample["seed"] if sample else 0, report=True, compare=compare,
                 limits=Limits(limits.get("max_record_bytes", DEFAULT_LIMITS.max_record_bytes),
                               limits.get("max_depth", DEFAULT_LIMITS.max_depth)),
                 jobs=jobs, progress=progress, mapping=mapping, judgements=judgements,
                 keep_earlier=run.get("keep_earlier", DEFAULT_KEEP_EARLIER))


def _choose_sample(inputs: list[str], size: int, seed: int, limits: Limits, mapping: Mapping | None = None,
                   ) -> tuple[set[int], set[int], dict[int, Rejection], dict[str, dict[str, int]]]:
    """Ordinals of a random sample of valid records, allocated to order types in proportion (largest remainder).

    Duplicate case ids are found first, over every record read: the sample is drawn from the first copy of
    each case only, and each later copy comes back (by ordinal) with its rejection, so it is reported as a
    duplicate whether or not the first copy was sampled. Returns (sampled ordinals, valid ordinals, the
    duplicates' rejections, the strata).

    Why a pass of its own, before the audit's: each order type's share of the sample needs every valid
    record counted first, so no record can be known to be sampled until the inputs have been read to the
    end. One pass would have to hold candidate records (a reservoir per order type) and would draw a
    different sample for the same seed than this does, so an audit form filled for an earlier sampled run
    would no longer match its cases when read back. The audit's pass validates again only the sampled
    records and those it rejects (invalid records, later copies of a case); the rest it skips, a JSON Lines
    line unparsed (on 2,000 generated cases: 0.3 s for this pass, 0.01 s to skip them), though a table
    export's cases are assembled again.
    """
    import random

    if "-" in inputs:
        msg = "--sample reads the inputs twice, so it needs files, not standard input"
        raise InputError(msg)
    if size < 1:
        msg = "--sample must be at least 1"
        raise InputError(msg)
    by_type: dict[str, list[int]] = {}
    repeated: dict[int, Rejection] = {}
    with Validator() as validator:
        for ordinal, raw in enumerate(read_inputs(inputs, limits, mapping)):
            if raw.unmatched:
                continue
            checked = validator.check(raw)
            result = checked if isinstance(checked, Rejection) else validator.admit(checked, raw)
            if not isinstance(result, Rejection):
                by_type.setdefault(result.order.order_type.value, []).append(ordinal)
            elif not isinstance(checked, Rejection):
                repeated[ordinal] = result
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
    valid = {ordinal for ordinals in by_type.values() for ordinal in ordinals}
    return chosen, valid, repeated, strata


def validate_inputs(inputs: list[str], out_dir: Path | str | None = None, limits: Limits = DEFAULT_LIMITS,
                    mapping: Mapping | None = None, notes: list[HeldDates] | None = None,
                    ) -> tuple[dict[str, int], list[Rejection]]:
    """Validate only: counts, and every rejection (also written to OUT/rejected.jsonl when out_dir is given).

    Each date column held back (exports/assemble.HeldDates) is added to ``notes``, to be said once."""
    _check_inputs(inputs, mapping, limits)
    counts = {"records_read": 0, "valid": 0, "rejected": 0}
    if _has_export(inputs):
        counts["unmatched_rows"] = 0
    rejections: list[Rejection] = []
    with Validator() as validator:
        for raw in read_inputs(inputs, limits, mapping, notes):
            if not raw.unmatched:
                counts["records_read"] += 1
            result = validator.validate(raw)
            if isinstance(result, Rejection):
                counts[_COUNTED[result.kind]] = counts.get(_COUNTED[result.kind], 0) + 1
                rejections.append(result)
                _log_rejection(result)
            else:
                counts["valid"] += 1
    if out_dir is not None:
        out = Path(out_dir)
        make_folder(out)
        target = AtomicFile(out / "rejected.jsonl")
        for rejection in rejections:
            target.write_line(json_line(rejection))
        target.commit()
    return counts, rejections
