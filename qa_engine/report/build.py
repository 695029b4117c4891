"""Building the report files of a finished run, and the names of every file a run writes.

The output names live here, the lowest module that needs all of them: a rebuilt report re-hashes its
own files into run.json and keeps the hashes the audit recorded for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from qa_engine.base.errors import InputError, QAEngineError
from qa_engine.judge.findings import Finding, Summary

if TYPE_CHECKING:
    from qa_engine.rulepack.model import RulePack

__all__ = ["DATA_FILES", "JUDGEMENT_FILES", "OUTPUTS", "REPORT_FILES", "Collector", "RunData", "build_report",
           "load_run"]

REPORT_FILES = ("report.md", "report.html", "worklist.csv", "worklist.xlsx")
"""The report's files, written unless --no-report."""
DATA_FILES = ("findings.jsonl", "rejected.jsonl", "summary.json")
"""The machine-readable outputs of every run."""
JUDGEMENT_FILES = ("judgements.json",)
"""Written when audit forms were read (--judgements): the managers' answers joined to the run."""
OUTPUTS = (*DATA_FILES, *JUDGEMENT_FILES, *REPORT_FILES)
"""Every file a run writes besides run.json; run.json lists their sha256 so `qa-engine verify` can check them."""


class Collector(Protocol):
    """What a report file gathers from the findings, one finding at a time (see ``RunData.scan``)."""

    def add(self, finding: Finding) -> None: ...


_UNREAD: Any = object()


@dataclass
class RunData:
    """What a report is built from: a finished run's files (and, to compare, an earlier run's summary)."""

    directory: Path
    run: dict[str, Any]
    summary: Summary
    previous: Summary | None = None
    _pack: Any = field(default=_UNREAD, repr=False)

    def findings(self) -> Iterator[Finding]:
        """The run's findings, read one line at a time."""
        with (self.directory / "findings.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield Finding.model_validate_json(line)

    def scan(self, *collectors: Collector) -> None:
        """Read findings.jsonl once, handing each finding to every collector in turn: one read and one parse a
        finding however many report files are built from it, and only what each collector keeps held in memory."""
        adds = [collector.add for collector in collectors]
        for finding in self.findings():
            for add in adds:
                add(finding)

    def rule_pack(self) -> RulePack | None:
        """The rule pack in the folder the run read it from, loaded once (None if it cannot be read); it may have
        changed since the run: compare its sha256 with the run's before trusting what it says of the run."""
        if self._pack is _UNREAD:
            from qa_engine.rulepack.load import load_rules

            try:
                self._pack = load_rules((self.run.get("rule_pack") or {}).get("directory"))
            except (QAEngineError, OSError):
                self._pack = None
        return self._pack


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"{path.parent} is not a finished qa-engine run: {path.name} is missing"
        raise InputError(msg) from exc
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise InputError(msg) from exc


def load_run(directory: Path | str, compare: Path | str | None = None, run: dict[str, Any] | None = None) -> RunData:
    """Load a finished run (run.json must say it is complete), and optionally an earlier one to compare with.

    ``run`` is the run record of a run still being written (the report is built before run.json).

    Raises:
        InputError: a folder is not a complete run.
    """
    directory = Path(directory)
    if run is None:
        run = _read_json(directory / "run.json")
    elif "complete" not in run:
        run = {**run, "complete": True}
    if not run.get("complete"):
        msg = f"{directory} holds an incomplete run; audit again before reporting"
        raise InputError(msg)
    data = RunData(directory, run, Summary.model_validate(_read_json(directory / "summary.json")))
    if compare is not None:
        data.previous = Summary.model_validate(_read_json(Path(compare) / "summary.json"))
    return data


def build_report(directory: Path | str, compare: Path | str | None = None,
                 run: dict[str, Any] | None = None, pack: RulePack | None = None) -> list[Path]:
    """Write report.md, report.html, worklist.csv and worklist.xlsx into a run's folder.

    findings.jsonl is read once, each finding handed to what every file gathers from it. ``pack`` is the rule pack
    the run used, when the caller has it loaded (else it is read from the folder run.json names).
    For a finished run (``run`` not given), run.json is rewritten afterwards with the report files' hashes; the
    other outputs keep the hashes the audit recorded, so `qa-engine verify` still catches a change made to them.
    """
    from qa_engine.report.html import PageRows, write_html
    from qa_engine.report.judgements import judged_findings, judgement_view
    from qa_engine.report.narrative import RecordProblems, write_markdown
    from qa_engine.report.worklist import WorklistRows, write_worklists
    from qa_engine.trust.files import sha256_file, write_json
    from qa_engine.trust.verify import seal_run

    data = load_run(directory, compare, run)
    if pack is not None:
        data._pack = pack
    problems, page, work, judged = RecordProblems(), PageRows(), WorklistRows.of_run(data), judged_findings(data)
    data.scan(*(c for c in (problems, page, work, judged) if c is not None))
    view = judgement_view(data, judged)
    written = [write_markdown(data, problems, view), write_html(data, page, view), *write_worklists(data, work)]
    if run is None:
        recorded = data.run.get("outputs", {})
        outputs = {name: sha256_file(data.directory / name) if name in REPORT_FILES else recorded[name]
                   for name in OUTPUTS if (name in REPORT_FILES and (data.directory / name).exists()) or name in recorded}
        write_json(data.directory / "run.json", seal_run({**data.run, "outputs": outputs, "complete": True}))
    return written
