"""Judgement beside data: what the managers' audit forms said, set against what the data rules found.

Built from a finished run's files only (findings.jsonl, summary.json and judgements.json, written
when audit forms were read): for each criterion, the proportion good enough by the managers'
judgement and by the data rules, apart and together; each question's proportion, headline first,
and which question failed most often; the cases where the two halves part company (an inspector
would ask about them); the disagreements between forms; and the sampled cases still to be judged.
Kept apart from narrative.py and html.py, which only render the view (report/build.py gathers it).
Comments are free text: report.md escapes them (report/mdtext.py), report.html through Jinja's autoescape.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_engine.judge.phrases import describe_proportion
from qa_engine.report.mdtext import md

__all__ = ["ROLL_UP_RULE", "JudgedFindings", "JudgementView", "judged_findings", "judgement_markdown", "judgement_view"]

ROLL_UP_RULE = (
    "Each question is counted on its own: the proportion answered Yes of the cases where it applied (Yes or No; "
    "Not applicable is left out). A case's judgement on a criterion is No if any of its questions is answered No, "
    "not yet judged while any is blank, Yes if every answer is Yes or Not applicable with at least one Yes, and "
    "Not applicable if every answer is Not applicable (sqs-case-questions.md section 4; the headline question "
    "leads, the others are listed beneath it, never averaged)."
)
"""The roll-up rule, as the form's cover and the report's method note state it."""
_WORST = ("not_met", "insufficient_data", "met", "not_applicable")
_WORDS = {"met": "good enough", "not_met": "not good enough", "insufficient_data": "not yet judged",
          "not_applicable": "not applicable"}
MAX_LISTED = 200
"""Rows listed per table in the report; the rest are counted."""


def _share(met: int, judged: int) -> str:
    return f"{met} of {judged} ({describe_proportion(met, judged)})" if judged else "none judged"


@dataclass
class CriterionRow:
    criterion: str
    title: str
    judgement: str
    data: str
    together: str
    disagree: int
    still_to_judge: int


@dataclass
class JudgementView:
    """Everything the report's judgement section shows, ready to render (text still to be escaped)."""

    forms: list[dict[str, Any]]
    cases_judged: int
    criteria: list[CriterionRow]
    questions: dict[str, list[dict[str, Any]]]
    most_failed: dict[str, Any] | None
    parted: list[dict[str, Any]]
    form_disagreements: list[dict[str, Any]]
    still_to_do: list[dict[str, Any]]
    comments_left_out: bool
    roll_up: str
    left_out: dict[str, int] = field(default_factory=dict)


class JudgedFindings:
    """What the judgement section needs of the findings, gathered one finding at a time (see RunData.scan): per case
    and criterion, the data rules' outcomes and the practice-judgement rule's; and each case's manager."""

    def __init__(self, basis: dict[str, str]) -> None:
        self.basis = basis
        self.data_outcome: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.judged: dict[tuple[str, str], str] = {}
        self.managers: dict[str, str] = {}

    def add(self, f: Any) -> None:
        kind = self.basis.get(f.rule_id)
        self.managers[f.case_id] = f.case_manager_id or "Unassigned"
        if kind == "recorded_data":
            self.data_outcome[f.case_id, f.criterion].add(f.outcome)
        elif kind == "practice_judgement":
            self.judged[f.case_id, f.criterion] = f.outcome


def _forms_path(data: Any) -> Path | None:
    """judgements.json, for a run that read audit forms (else None)."""
    path = data.directory / "judgements.json"
    return path if "judgements" in data.run and path.is_file() else None


def judged_findings(data: Any) -> JudgedFindings | None:
    """What to gather from the findings for the judgement section: None for a run that read no audit form."""
    return JudgedFindings(_basis(data)) if _forms_path(data) else None


def judgement_view(data: Any, gathered: JudgedFindings | None) -> JudgementView | None:
    """The judgement section's content for a run that read audit forms (``gathered`` from its findings), or None
    for one that did not."""
    path = _forms_path(data)
    if path is None or gathered is None:
        return None
    forms = json.loads(path.read_text(encoding="utf-8"))
    data_outcome, judged, managers = gathered.data_outcome, gathered.judged, gathered.managers
    comments: dict[tuple[str, str], list[str]] = defaultdict(list)
    blanks: dict[str, int] = defaultdict(int)
    for a in forms.get("answers", []):
        if a.get("answer") is None:
            blanks[a["case_id"]] += 1
        if a.get("comment"):
            comments[a["case_id"], a["criterion"]].append(f"{a['question']}: {a['comment']}")
    parted = []
    disagree: dict[str, int] = defaultdict(int)
    pending: dict[str, list[str]] = defaultdict(list)
    for (case_id, criterion), manager in sorted(judged.items()):
        if manager == "insufficient_data":
            pending[case_id].append(criterion)
        found = data_outcome.get((case_id, criterion))
        by_data = next((o for o in _WORST if o in found), None) if found else None
        if {by_data, manager} == {"met", "not_met"}:
            disagree[criterion] += 1
            parted.append({"case_id": case_id, "case_manager": managers.get(case_id, ""), "criterion": criterion,
                           "data": _WORDS[by_data], "manager": _WORDS[manager],
                           "comments": comments.get((case_id, criterion), [])})
    rows = []
    for c in data.summary.criteria:
        j, d = c.by_judgement, c.by_data
        rows.append(CriterionRow(
            c.criterion, c.title,
            _share(j.met, j.met + j.not_met) if j else "no question", _share(d.met, d.met + d.not_met) if d else "no rule",
            _share(c.met, c.met + c.not_met), disagree.get(c.criterion, 0), j.insufficient_data if j else 0))
    questions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in forms.get("questions", []):
        n = q["yes"] + q["no"]
        questions[q["criterion"]].append({**q, "share": _share(q["yes"], n)})
    for items in questions.values():
        items.sort(key=lambda q: (not q["headline"], q["question"]))
    failing = [q for items in questions.values() for q in items if q["no"]]
    most_failed = max(failing, key=lambda q: (q["no"], q["no"] / max(q["yes"] + q["no"], 1), [-ord(ch) for ch in q["question"]]),
                      default=None)
    still = [{"case_id": case_id, "case_manager": managers.get(case_id, ""), "criteria": crits,
              "questions": blanks.get(case_id, 0)} for case_id, crits in pending.items()]
    still.sort(key=lambda s: (s["case_manager"], s["case_id"]))
    view = JudgementView(
        forms=forms.get("forms", []), cases_judged=len({cid for cid, _ in judged}), criteria=rows,
        questions=dict(questions), most_failed=most_failed, parted=parted[:MAX_LISTED],
        form_disagreements=forms.get("disagreements", [])[:MAX_LISTED], still_to_do=still[:MAX_LISTED],
        comments_left_out=bool(forms.get("comments_left_out")), roll_up=ROLL_UP_RULE)
    view.left_out = {"parted": max(0, len(parted) - MAX_LISTED),
                     "form_disagreements": max(0, len(forms.get("disagreements", [])) - MAX_LISTED),
                     "still_to_do": max(0, len(still) - MAX_LISTED)}
    return view


def _basis(data: Any) -> dict[str, str]:
    """Rule id -> basis, from the rule files the run used (practice-judgement rules are named so if unreadable)."""
    pack = data.rule_pack()
    if pack is not None:
        return {r.id: r.basis for r in pack.rules}
    # the pack moved: fall back to the shipped naming convention
    return {r.rule_id: ("practice_judgement" if r.rule_id.endswith("-practice-judgement") else "recorded_data")
            for r in data.summary.rules}


def judgement_markdown(view: JudgementView | None) -> list[str]:
    """The report.md lines of the judgement section (none when no audit form was read)."""
    if view is None:
        return []
    out = ["## Judgement beside data", "",
           f"Managers judged {view.cases_judged} cases by reading their files, on "
           f"{len(view.forms)} audit {'form' if len(view.forms) == 1 else 'forms'}. For each criterion: the proportion "
           "good enough by the managers' judgement, by the data rules, and together (a case is not good enough "
           "together if either says so).", "",
           "| Criterion | By managers' judgement | By the data rules | Together | Where they disagree | Still to judge |",
           "|---|---|---|---|---|---|"]
    for r in view.criteria:
        out.append(f"| {r.criterion} {md(r.title)} | {r.judgement} | {r.data} | {r.together} | {r.disagree} | "
                   f"{r.still_to_judge} |")
    if view.most_failed:
        q = view.most_failed
        out += ["", f"The question that failed most often: {q['question']} ({md(q['text'])}), answered No in "
                    f"{q['no']} of {q['yes'] + q['no']} cases where it applied."]
    out += ["", "### Each question", "",
            "The headline question (in bold) leads each criterion; the others are listed beneath it, never averaged.", "",
            "| Question | Asks | What was judged | Good enough (Yes of Yes and No) | Not applicable | Not yet judged |",
            "|---|---|---|---|---|---|"]
    for items in view.questions.values():
        for q in items:
            lead = "**" if q["headline"] else ""
            asks = "Is there one?" if q["asks"] == "is_there_one" else "Is it good enough?"
            out.append(f"| {lead}{q['question']}{lead} | {asks} | {md(q['text'])} | {q['share']} | {q['not_applicable']} | "
                       f"{q['not_yet_judged']} |")
    out += ["", "### Where the managers and the data part company", ""]
    if view.parted:
        out += ["| Case | Case manager | Criterion | The data rules say | The manager says | Comment |",
                "|---|---|---|---|---|---|"]
        for p in view.parted:
            note = "; ".join(md(c) for c in p["comments"])
            if not note and view.comments_left_out:
                note = "(left out: pseudonymised run)"
            out.append(f"| {md(p['case_id'])} | {md(p['case_manager'])} | {p['criterion']} | {p['data']} | "
                       f"{p['manager']} | {note} |")
        if view.left_out["parted"]:
            out.append(f"\n{view.left_out['parted']} more cases are in findings.jsonl and judgements.json.")
    else:
        out.append("No case where one says good enough and the other not.")
    if view.form_disagreements:
        out += ["", "### Forms that disagree (left not yet judged until settled)", ""]
        for d in view.form_disagreements:
            answers = "; ".join(f"{md(a['form'])} {a['cell']}: {a['answer'].replace('_', ' ')}" for a in d["answers"])
            out.append(f"- Case {md(d['case_id'])}, question {d['question']}: {answers}.")
    out += ["", "### Still to be judged", ""]
    if view.still_to_do:
        out.append(f"{len(view.still_to_do) + view.left_out['still_to_do']} sampled cases have questions still blank:")
        out += [f"- {md(s['case_id'])} ({md(s['case_manager'])}): {s['questions']} questions blank; criteria "
                f"{', '.join(s['criteria'])}." for s in view.still_to_do]
    else:
        out.append("Every sampled case has been judged on every criterion.")
    out += ["", "### How the answers were counted", "", view.roll_up, ""]
    out += [f"- Form {md(f['path'])} (sha256 {f['sha256'][:12]}, {f['cases']} cases)." for f in view.forms]
    if view.comments_left_out:
        out.append("- Auditors' comments are left out of a pseudonymised run.")
    out.append("")
    return out
