"""report.html: one self-contained page (styles, script and charts inline, no network) with filters and drill-down."""

from __future__ import annotations

import base64
import hashlib
import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from qa_engine.base.text import display
from qa_engine.records.model import LEVEL_RANK, order_type_label
from qa_engine.report.actions import rule_actions
from qa_engine.report.judgements import JudgementView
from qa_engine.report.narrative import (
    AREA_BELOW,
    STRENGTH_FROM,
    audit_date_lines,
    choose,
    counts_note,
    coverage_lines,
    held_back_lines,
    in_words,
    ordered_rules,
    plural,
)
from qa_engine.report.titles import report_title
from qa_engine.trust.files import AtomicFile

if TYPE_CHECKING:
    from qa_engine.judge.findings import Finding

__all__ = ["PAGE_ROWS", "PROBLEM_ROWS_PER_CRITERION", "ROWS_PER_CRITERION", "PageRows", "floor_percent",
           "render_html", "write_html"]

ROWS_PER_CRITERION = 1000
"""Met findings kept in the page per criterion; the page shows them a page at a time."""
PROBLEM_ROWS_PER_CRITERION = 5000
"""Not-met and insufficient-data findings kept in the page per criterion (every one, up to this bound)."""
PAGE_ROWS = 100
"""Rows the page shows at a time; the rest are a click away (and every row the page holds can be downloaded)."""

_ENV = Environment(loader=PackageLoader("qa_engine.report", "templates"), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True,
                   finalize=lambda value: display(value) if isinstance(value, str) else value)
_ORDER = {"not_met": 0, "insufficient_data": 1, "met": 2}


def _trim(rows: list[dict[str, Any]]) -> None:
    """Keep every problem (up to PROBLEM_ROWS_PER_CRITERION) and the first ROWS_PER_CRITERION met rows, in order."""
    rows.sort(key=lambda r: (r["rank"], r["case"], r["rule"]))
    problems = sum(1 for r in rows if r["rank"] < 2)
    kept_problems = min(problems, PROBLEM_ROWS_PER_CRITERION)
    rows[:] = rows[:kept_problems] + rows[problems:problems + ROWS_PER_CRITERION]


def _outcome_text(finding: Any) -> str:
    """The outcome in words; one the record could not support says whether its dates need correcting."""
    if finding.outcome == "insufficient_data" and finding.reason_kind == "impossible_dates":
        return "record to correct: impossible dates"
    return finding.outcome.replace("_", " ")


class PageRows:
    """The findings the page holds, gathered one finding at a time (see RunData.scan): per criterion, every problem
    (up to PROBLEM_ROWS_PER_CRITERION) and the first ROWS_PER_CRITERION met ones, trimmed as it goes so memory stays
    bounded on huge runs; and how many findings, and problems, each criterion has."""

    def __init__(self) -> None:
        self.kept: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.total: dict[str, int] = defaultdict(int)

    def add(self, f: Finding) -> None:
        if f.outcome == "not_applicable":
            return
        self.total[f.criterion] += 1
        if f.outcome != "met":
            self.total[f"{f.criterion} problems"] += 1
        rows = self.kept[f.criterion]
        rows.append({"case": f.case_id, "team": f.team or "", "manager": f.case_manager_id or "",
                     "order": order_type_label(f.order_type), "risk": (f.risk_level or "not rated").replace("_", " "),
                     "rule": f.rule_id, "outcome": f.outcome, "outcome_text": _outcome_text(f),
                     "severity": f.severity, "message": f.message, "rank": _ORDER[f.outcome]})
        if len(rows) > 2 * (ROWS_PER_CRITERION + PROBLEM_ROWS_PER_CRITERION):  # keep memory bounded on huge runs
            _trim(rows)

    def result(self) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
        """The rows kept per criterion, in the page's order, and the counts."""
        for rows in self.kept.values():
            _trim(rows)
        return self.kept, self.total


def _colour(proportion: float | None) -> str:
    """The bar's class: exactly the legend's thresholds (see report.html's legend)."""
    if proportion is None:
        return "none"
    if proportion >= STRENGTH_FROM:
        return "strong"
    return "weak" if proportion < AREA_BELOW else "middle"


def floor_percent(proportion: float) -> int:
    """A proportion as a whole percent, rounded down, so a label never reaches a threshold its bar is below."""
    return math.floor(100 * proportion + 1e-9)


def _suggestions(c: Any, rules: list[Any], actions: dict[str, str]) -> list[str]:
    """What the findings suggest doing for one criterion: each rule not met, most severe first, with its action."""
    out = []
    for r in rules:
        if not r.not_met:
            continue
        what = actions.get(r.rule_id) or f"look again at: {r.title.lower()}"
        out.append(f"{plural(r.not_met, 'case')}: {what[0].lower()}{what[1:]} ({r.rule_id}, {r.severity} severity).")
    if c.insufficient_data:
        out.append(f"{plural(c.insufficient_data, 'case')}: complete the record, which lacked the data to judge.")
    return out


def _csp_hash(script: str) -> str:
    """A script's CSP source: 'sha256-' and its sha256 in base64, so only that exact script may run."""
    return "sha256-" + base64.b64encode(hashlib.sha256(str(script).encode("utf-8")).digest()).decode("ascii")


_ENV.filters["csp_hash"] = _csp_hash


_RISK_ORDER = {**{level.value.replace("_", " "): rank for level, rank in LEVEL_RANK.items()}, "not rated": len(LEVEL_RANK) + 1}
"""Where each risk-of-serious-harm label (as shown in the filter) comes in its select: lowest level first."""


def render_html(data: Any, page: PageRows, view: JudgementView | None) -> str:
    """The page's HTML: ``page`` holds the rows gathered from the findings, ``view`` the judgement section (None
    when no audit form was read)."""
    return "".join(_pieces(data, page, view))


def _pieces(data: Any, page: PageRows, view: JudgementView | None) -> Iterator[str]:
    """The page's HTML a piece at a time, as the template makes it."""
    summary = data.summary
    rows, total = page.result()
    values = {key: sorted({r[key] for crit in rows.values() for r in crit}) for key in ("team", "manager", "order", "risk")}
    values["risk"].sort(key=lambda label: _RISK_ORDER.get(label, len(_RISK_ORDER) + 1))  # a scale, not the alphabet
    previous = {c.criterion: c for c in data.previous.criteria} if data.previous else {}
    previous_rules = {r.rule_id: r.proportion_met for r in data.previous.rules} if data.previous else {}
    actions = rule_actions(data)
    criteria = []
    for c in summary.criteria:
        judged = c.met + c.not_met
        before = previous.get(c.criterion)
        criteria.append({
            "id": c.criterion, "title": c.title, "section": c.section_title, "judged": judged,
            "met": c.met, "not_met": c.not_met, "insufficient": c.insufficient_data,
            "proportion": c.proportion_met, "interval": c.interval_95,
            "phrase": in_words(c.met, judged) if judged else "no case could be judged",
            "note": counts_note(c),
            "before": before.proportion_met if before else None,
            "rules": ordered_rules(summary, c.criterion),
            "colour": _colour(c.proportion_met),
            "percent": floor_percent(c.proportion_met) if c.proportion_met is not None else None,
            "suggestions": _suggestions(c, ordered_rules(summary, c.criterion), actions),
            "rows": rows.get(c.criterion, []), "total": total.get(c.criterion, 0),
            "problems": total.get(f"{c.criterion} problems", 0), "problem_cap": PROBLEM_ROWS_PER_CRITERION,
        })
    strengths, areas = choose(summary)
    return _ENV.get_template("report.html.j2").generate(
        run=data.run, summary=summary, criteria=criteria, values=values, strengths=strengths, areas=areas,
        title=report_title(data.run),
        compared=data.previous.as_of if data.previous else None,
        previous_rules=previous_rules, coverage=coverage_lines(data.run, summary),
        strength_from=STRENGTH_FROM, area_below=AREA_BELOW, page_rows=PAGE_ROWS,
        date_lines=audit_date_lines(data.run), held_lines=held_back_lines(data.run),
        judgement=view,
    )


def write_html(data: Any, page: PageRows, view: JudgementView | None) -> Path:
    """Write report.html into the run folder a piece at a time: the page (30 MB at 10,000 cases) is never held
    whole, nor the list of its pieces."""
    target = AtomicFile(data.directory / "report.html")
    try:
        for piece in _pieces(data, page, view):
            target.write(piece)
        target.commit()
    except BaseException:  # an error, Ctrl-C or SIGTERM: never leave a half-written page
        target.abandon()
        raise
    return target.path
