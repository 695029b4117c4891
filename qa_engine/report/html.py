"""report.html: one self-contained page (styles, script and charts inline, no network) with filters and drill-down."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from qa_engine.report.judgements import judgement_view
from qa_engine.report.narrative import AREA_BELOW, STRENGTH_FROM, choose, counts_note, in_words
from qa_engine.trust.files import write_text

__all__ = ["ROWS_PER_CRITERION", "render_html", "write_html"]

ROWS_PER_CRITERION = 1000
"""Drill-down rows kept per criterion (not-met first); a note says when more were left out."""

_ENV = Environment(loader=PackageLoader("qa_engine.report", "templates"), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)


def _rows(data) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    kept: dict[str, list[dict[str, Any]]] = defaultdict(list)
    total: dict[str, int] = defaultdict(int)
    order = {"not_met": 0, "insufficient_data": 1, "met": 2}
    for f in data.findings():
        if f.outcome == "not_applicable":
            continue
        total[f.criterion] += 1
        rows = kept[f.criterion]
        rows.append({"case": f.case_id, "team": f.team or "", "manager": f.case_manager_id or "",
                     "order": f.order_type.replace("_", " "), "risk": (f.risk_level or "not rated").replace("_", " "),
                     "rule": f.rule_id, "outcome": f.outcome, "outcome_text": f.outcome.replace("_", " "),
                     "severity": f.severity, "message": f.message, "rank": order[f.outcome]})
        if len(rows) > 2 * ROWS_PER_CRITERION:  # keep memory bounded on huge runs
            rows.sort(key=lambda r: (r["rank"], r["case"], r["rule"]))
            del rows[ROWS_PER_CRITERION:]
    for rows in kept.values():
        rows.sort(key=lambda r: (r["rank"], r["case"], r["rule"]))
        del rows[ROWS_PER_CRITERION:]
    return kept, total


def render_html(data) -> str:
    """The page's HTML."""
    summary = data.summary
    rows, total = _rows(data)
    values = {key: sorted({r[key] for crit in rows.values() for r in crit}) for key in ("team", "manager", "order", "risk")}
    previous = {c.criterion: c for c in data.previous.criteria} if data.previous else {}
    previous_rules = {r.rule_id: r.proportion_met for r in data.previous.rules} if data.previous else {}
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
            "rules": [r for r in summary.rules if r.criterion == c.criterion],
            "rows": rows.get(c.criterion, []), "total": total.get(c.criterion, 0),
        })
    strengths, areas = choose(summary)
    return _ENV.get_template("report.html.j2").render(
        run=data.run, summary=summary, criteria=criteria, values=values, strengths=strengths, areas=areas,
        service=data.run.get("policy", {}).get("service") or "the youth offending service",
        compared=data.previous.as_of if data.previous else None,
        previous_rules=previous_rules,
        strength_from=STRENGTH_FROM, area_below=AREA_BELOW,
        judgement=judgement_view(data),
    )


def write_html(data) -> Path:
    """Write report.html into the run folder."""
    return write_text(data.directory / "report.html", render_html(data))
