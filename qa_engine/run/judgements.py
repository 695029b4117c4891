"""Managers' judgements from audit forms, joined to a run: checked against it, merged, counted, written.

The forms are read by exports/auditform.py; this module knows the run they must belong to (its key,
rule pack, audit date and cases), turns the answers into practice judgements for the auditor, and
writes judgements.json: the forms read, each question's counts, every answer, and the
disagreements between forms. An auditor's comment is free text: it is never logged; it is kept in
judgements.json (escaped wherever the report shows it) and left out of a pseudonymised run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from qa_engine.base.errors import InputError
from qa_engine.exports.auditform import Disagreement, FormAnswer, FormRead, merge_forms, read_form
from qa_engine.judge.phrases import wilson_interval
from qa_engine.records.model import PracticeJudgement
from qa_engine.rulepack.model import RulePack
from qa_engine.trust.files import write_json
from qa_engine.trust.pseudonyms import Pseudonymiser

__all__ = ["JUDGEMENTS_FILE", "Judgements", "load_judgements"]

JUDGEMENTS_FILE = "judgements.json"
MAX_FORMS = 200
"""Forms one run reads at most: one per case manager of a large service, with room to spare."""

log = structlog.get_logger("qa_engine")


@dataclass
class Judgements:
    """The answers of every form given for one run, merged: what stands per case and question, and what disagrees."""

    forms: list[FormRead]
    merged: dict[str, dict[str, FormAnswer]]
    disagreements: list[Disagreement]
    pack: RulePack
    as_of: dt.date

    def fill_unanswered(self, case_ids: set[str]) -> None:
        """Put every case of the run that no form holds (a split form not returned) down as not yet judged."""
        keys = [(c.id, q.key) for c in self.pack.criteria.values() for q in c.questions]
        for case_id in sorted(case_ids - set(self.merged)):
            self.merged[case_id] = {key: FormAnswer(case_id, criterion, key, None, None, None, "", "", "")
                                    for criterion, key in keys}

    def practice_judgements(self) -> dict[str, tuple[PracticeJudgement, ...]]:
        """Case id -> one practice judgement per question the forms hold (answer None: not yet judged)."""
        labels = {q.key: q.label for c in self.pack.criteria.values() for q in c.questions}
        out = {}
        for case_id, answers in self.merged.items():
            out[case_id] = tuple(
                PracticeJudgement(criterion=a.criterion, question=labels[a.question], answer=a.answer,
                                  auditor_id=a.auditor_id if a.answer is not None else None, date=self.as_of)
                for a in answers.values())
        return out

    def record(self) -> dict[str, Any]:
        """What run.json says about the forms: each file and its sha256."""
        return {"forms": [{"path": str(f.path), "sha256": f.sha256, "cases": f.cases} for f in self.forms]}

    def write(self, out: Path, audited: set[str], pseudonym: Pseudonymiser | None) -> Path:
        """Write judgements.json for the cases that were audited (in a pseudonymised run, auditor ids pseudonymised
        and comments left out)."""
        pseudonymised = pseudonym is not None
        staff = pseudonym or (lambda value: value)
        rows = []
        counts: dict[str, Counter] = {q.key: Counter() for c in self.pack.criteria.values() for q in c.questions}
        for case_id in sorted(self.merged):
            if case_id not in audited:
                continue
            for key, a in self.merged[case_id].items():
                counts[key][a.answer or "not_yet_judged"] += 1
                rows.append({"case_id": case_id, "criterion": a.criterion, "question": key, "answer": a.answer,
                             "auditor_id": _staff(staff, a.auditor_id), "form": a.form, "sheet": a.sheet, "cell": a.cell,
                             "comment": None if pseudonymised else a.comment})
        questions = []
        for crit in self.pack.criteria.values():
            for q in crit.questions:
                c = counts[q.key]
                judged = c["yes"] + c["no"]
                questions.append({
                    "criterion": crit.id, "question": q.key, "text": q.text, "asks": q.asks, "headline": q.headline,
                    "status": q.status, "yes": c["yes"], "no": c["no"], "not_applicable": c["not_applicable"],
                    "not_yet_judged": c["not_yet_judged"],
                    "proportion_yes": round(c["yes"] / judged, 4) if judged else None,
                    "interval_95": wilson_interval(c["yes"], judged),
                })
        disagreements = [
            {"case_id": d.case_id, "criterion": d.criterion, "question": d.question,
             "answers": [{"answer": a.answer, "auditor_id": _staff(staff, a.auditor_id), "form": a.form, "sheet": a.sheet,
                          "cell": a.cell, "comment": None if pseudonymised else a.comment} for a in d.answers]}
            for d in self.disagreements if d.case_id in audited]
        return write_json(out / JUDGEMENTS_FILE, {
            **self.record(), "as_of": self.as_of.isoformat(), "comments_left_out": pseudonymised,
            "questions": questions, "disagreements": disagreements, "answers": rows,
        })


def _staff(staff: Any, auditor_id: str | None) -> str | None:
    return staff(auditor_id) if auditor_id else None


def load_judgements(paths: list[Path], *, run_key: str, pack: RulePack, as_of: dt.date,
                    case_ids: set[str]) -> Judgements:
    """Read every form for the run keyed ``run_key`` and merge them; a case of the run in no form is not yet judged.

    Raises:
        InputError: too many forms, one form given twice, or any form refused by read_form (its message
            names the file, sheet and cell).
    """
    if len(paths) > MAX_FORMS:
        msg = f"{len(paths)} audit forms given; at most {MAX_FORMS} can be read for one run"
        raise InputError(msg)
    resolved = [Path(p).resolve() for p in paths]
    repeated = next((p for i, p in enumerate(resolved) if p in resolved[:i]), None)
    if repeated is not None:
        msg = f"the audit form {repeated.name} is given twice"
        raise InputError(msg)
    criteria = [(cid, [q.key for q in c.questions]) for cid, c in pack.criteria.items() if c.questions]
    forms = [read_form(p, run_key=run_key, pack_sha256=pack.sha256, as_of=as_of, case_ids=case_ids, criteria=criteria)
             for p in paths]
    merged, disagreements = merge_forms(forms)
    judgements = Judgements(forms, merged, disagreements, pack, as_of)
    judgements.fill_unanswered(case_ids)
    given = sum(1 for answers in merged.values() for a in answers.values() if a.answer is not None)
    blank = sum(1 for answers in merged.values() for a in answers.values() if a.answer is None)
    log.info("judgements.read", forms=len(forms), cases=len(merged), answers=given, not_yet_judged=blank,
             disagreements=len(disagreements))
    for d in disagreements:
        log.warning("judgements.disagree", case_id=d.case_id, question=d.question,
                    where=[f"{a.form} {a.cell}" for a in d.answers])
    return judgements
