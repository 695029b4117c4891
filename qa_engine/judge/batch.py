"""Running a batch across worker processes: chunks of records out, results back in input order, memory bounded.

Each worker process builds its own Auditor (its own durable_rules Host, rules compiled once per
process) and judges chunks of raw records: validation of each record on its own, facts, rules,
findings encoded as JSON Lines (orjson), and the chunk's cases counted for the summary (a Tally,
handed back with the chunk's last record). The parent keeps everything that depends on order or on
the whole batch: duplicate case ids (a refused duplicate's outcomes are taken back out of the
summary), the sample, writing, adding up the tallies. With one job the same chunk function runs in
the parent, so the bytes written do not depend on the number of jobs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from qa_engine.exports.raw import RawRecord
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.judge.findings import Tally, encode_findings
from qa_engine.records.newest import newest_recorded_date

__all__ = ["CHUNK", "Judged", "WorkerConfig", "default_jobs", "judge_batch"]

log = structlog.get_logger("qa_engine")

CHUNK = 64
"""Records sent to a worker at a time: large enough to amortise the hand-over, small enough to keep order cheap."""


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs to build the same Auditor as the parent."""

    rules_dir: str | None
    policy_path: str | None
    as_of: dt.date
    pseudonym_key: bytes | None
    mapping: Any = None
    """The mapping tabular inputs are read with, so a worker can name a problem's column (see sources.Locator)."""
    judgements: Any = None
    """Practice judgements read from audit forms, by case id (see Auditor)."""


@dataclass(frozen=True)
class Judged:
    """One record's result: a rejection, or the findings as JSON Lines and their outcomes, already counted."""

    raw: RawRecord
    case_id: str | None = None
    rejection: Rejection | None = None
    findings: bytes = b""
    """The case's findings, one JSON line each (UTF-8, each ending in a newline), in rule-id order."""
    outcomes: bytes = b""
    """The case's outcome codes (see findings.Tally), to take it back out of the summary if it is refused."""
    tally: Tally | None = None
    """On the last record of each chunk: the chunk's audited cases, counted, for the parent to add up."""
    newest: str | None = None
    """The newest date the record holds (ISO), planned dates left out: see records/newest.py."""


_AUDITOR: Any = None


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent has gone (killed, say) would wait for work for ever: leave instead."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(config: WorkerConfig, parent: int) -> None:
    global _AUDITOR
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle, between records
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # so is SIGTERM sent to the whole process group
    if config.mapping is not None:
        from qa_engine.exports.assemble import register_mapping

        register_mapping(config.mapping)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="qa-engine-parent-watch").start()
    from qa_engine.judge.auditor import Auditor
    from qa_engine.rulepack.load import load_policy, load_rules
    from qa_engine.trust.pseudonyms import Pseudonymiser

    pack = load_rules(config.rules_dir)
    policy = load_policy(config.policy_path, pack)
    pseudonym = Pseudonymiser(config.pseudonym_key) if config.pseudonym_key else None
    _AUDITOR = Auditor(pack, policy, config.as_of, pseudonym, judgements=config.judgements)


def _judge_chunk(raws: list[RawRecord]) -> list[Judged]:
    out = []
    auditor = _AUDITOR
    tally = auditor.tally()
    for raw in raws:
        result = Validator.check(raw)
        original, raw = raw, RawRecord(raw.source, raw.position, unmatched=raw.unmatched)  # all the parent needs back
        if isinstance(result, Rejection):
            if auditor.pseudonym:
                result = _pseudonymised(result, original, auditor.pseudonym)
            out.append(Judged(raw, rejection=result))
            continue
        try:
            findings = auditor.judge(result)
        except Exception as exc:  # one case the engine (or a bug) cannot judge is rejected; the batch goes on
            rejection = _not_judged(raw, result.case_id, exc)
            if auditor.pseudonym:
                rejection = _pseudonymised(rejection, original, auditor.pseudonym)
            out.append(Judged(raw, rejection=rejection))
            continue
        codes = tally.encode_outcomes({f["rule_id"]: f["outcome"] for f in findings})
        tally.add(codes)
        out.append(Judged(raw, case_id=result.case_id, findings=encode_findings(findings), outcomes=codes,
                          newest=_iso(newest_recorded_date(result))))
    if out:
        out[-1] = dataclasses.replace(out[-1], tally=tally)
    return out


def _pseudonymised(rejection: Rejection, raw: RawRecord, pseudonym: Any) -> Rejection:
    """A rejection fit for a pseudonymised run: its case id, and every id or label of the record in its reasons and
    places, replaced by pseudonyms; dates cut to their month."""
    from qa_engine.trust.pseudonyms import identifiers

    values = identifiers(raw.parsed().data) if raw.text is not None or raw.data is not None else set()
    if rejection.case_id:
        values.add(rejection.case_id)

    def scrub(text: str | None) -> str | None:
        return pseudonym.text(text, values) if text else text

    problems = [p.model_copy(update={"reason": scrub(p.reason), "where": scrub(p.where)}) for p in rejection.problems]
    return rejection.model_copy(update={"case_id": pseudonym(rejection.case_id) if rejection.case_id else None,
                                        "reason": scrub(rejection.reason), "problems": problems})


def _not_judged(raw: RawRecord, case_id: str, exc: Exception) -> Rejection:
    """The rejection of a valid record that could not be judged: the reason in the export's terms when known.

    The exception's own text is never copied (it may quote a value); its type and where it was raised
    go to the log at debug level, for a bug report.
    """
    from qa_engine.base.errors import EngineError
    from qa_engine.exports.validation import Problem

    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    place = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame is not None else None
    log.debug("case.not_judged", source=raw.source, position=raw.position, error=type(exc).__name__, raised_at=place)
    if isinstance(exc, EngineError) and exc.reason:
        reason = f"the rule engine could not judge this case: {exc.reason}"
    elif isinstance(exc, EngineError):
        reason = "the rule engine could not judge this case (an internal error; run with --log-level debug for details)"
    else:
        reason = "qa_engine could not judge this case (an internal error; run with --log-level debug for details)"
    return Rejection(source=raw.source, position=raw.position, case_id=case_id, pointer="", reason=reason,
                     problems=[Problem(pointer="", reason=reason)])


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _chunks(raws: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    chunk: list[RawRecord] = []
    for raw in raws:
        chunk.append(raw)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back while a worker process may be started, so the worker starts with it blocked.

    A worker started while Ctrl-C is pressed would otherwise die before its initializer ignores it,
    breaking the pool (BrokenProcessPool) instead of letting the parent stop cleanly between records.
    A Ctrl-C held back is delivered to this process as soon as the worker has started.
    """
    import signal

    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows: no signal masks
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def judge_batch(raws: Iterable[RawRecord], config: WorkerConfig, auditor: Any, jobs: int) -> Iterator[Judged]:
    """Judge records in input order, in ``jobs`` processes (1: in this process), holding at most a few chunks."""
    global _AUDITOR
    if jobs <= 1:
        _AUDITOR = auditor
        for chunk in _chunks(raws, CHUNK):
            yield from _judge_chunk(chunk)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(config, os.getpid())) as pool:
        pending: deque[Future[list[Judged]]] = deque()
        window = 3 * jobs
        for chunk in _chunks(raws, CHUNK):
            with _sigint_held():
                pending.append(pool.submit(_judge_chunk, chunk))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


class Progress:
    """A progress bar (tqdm) on a terminal; otherwise a structured log event every ``every`` seconds."""

    def __init__(self, total: int | None, enabled: bool = True, every: float = 10.0) -> None:
        self.done = 0
        self.total = total
        self.every = every
        self.started = self.last = time.monotonic()
        self.bar = None
        self.enabled = enabled
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="case", file=sys.stderr, smoothing=0.05, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and now - self.last >= self.every:
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.total - self.done) / rate if self.total and rate else None
            log.info("audit.progress", records=self.done, total=self.total, cases_per_second=round(rate, 1),
                     seconds_left=round(left) if left is not None else None)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
