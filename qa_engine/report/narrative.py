"""report.md: the structure and language of an SQS letter, generated from the results, as a draft to edit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_engine.judge.findings import Counts, CriterionSummary, Finding, RuleSummary, Summary
from qa_engine.judge.phrases import describe_proportion
from qa_engine.report.judgements import JudgementView, judgement_markdown
from qa_engine.report.mdtext import md
from qa_engine.report.titles import report_title
from qa_engine.trust.files import write_text

__all__ = ["AREA_BELOW", "MIN_CASES", "STRENGTH_FROM", "Choice", "RecordProblems", "audit_date_lines", "choose",
           "held_back_lines", "in_words", "ordered_rules", "plural", "rule_sentence", "write_markdown"]

MIN_CASES = 5
"""A criterion needs at least this many judged cases to be named a strength or an area for improvement."""
STRENGTH_FROM = 0.80
"""A key strength: at least this proportion met ("most" or better)."""
AREA_BELOW = 0.65
"""An area requiring improvement: below this proportion met (under the 2018 "reasonable majority" line)."""
LIMIT = 3
"""At most this many of each, as in the report."""


def in_words(k: int, n: int, noun: str = "cases") -> str:
    """k of n in the inspectorate's style: words for the proportion, digits for every count.

    'two-thirds of the 30 cases', 'all 12 cases', '4 of the 34 cases', 'all but 3 of the 34 cases',
    'none of the 5 cases'; never 'one of the 2 cases'. Where describe_proportion gives a count ('four
    cases', 'all but three'), the count is written in digits.
    """
    if n == 0:
        return f"no {noun}"
    if k == n:
        return f"all {n} {noun}" if n > 1 else f"the only {noun.removesuffix('s')}"
    if k == 0:
        return f"none of the {n} {noun}"
    phrase = describe_proportion(k, n)
    if phrase.startswith("all but "):
        return f"all but {n - k} of the {n} {noun}"
    if phrase.endswith((" case", " cases")):
        return f"{k} of the {n} {noun}"
    return f"{phrase} of the {n} {noun}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 case', '3 cases' (digits for counts)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def audit_date_lines(run: dict[str, Any]) -> list[str]:
    """What the audit date was and, when it lies long after the newest date in the records, a warning with the
    --as-of to use instead (see run/audit.py STALE_AFTER_DAYS); when the newest date lies well after the audit date
    (AHEAD_AFTER_DAYS), a warning that dates may have been read the wrong way round. Empty when --as-of was given and
    the dates fit it."""
    info = run.get("audit_date") or {}
    lines = []
    as_of, newest, days = run.get("as_of"), info.get("newest_recorded"), info.get("days_after_newest")
    if info.get("given") is False:
        lines.append(f"Audit date: {as_of}, the day of the audit, as no --as-of was given.")
    if info.get("stale"):
        if days is None:  # a pseudonymised run records only the month
            lines.append(f"Warning: the newest date in the records is in {newest}, long before the audit date {as_of}, "
                         "so every deadline since then counts as missed: audit again with --as-of the day the export "
                         "was taken.")
        else:
            lines.append(f"Warning: the newest date in the records is {newest}, {days:,} days before the audit date "
                         f"{as_of}, so every deadline since then counts as missed. If the export was taken on {newest}, "
                         f"audit again with --as-of {newest}.")
    if info.get("ahead"):
        after = (f"is {newest}, {-days:,} days after" if days is not None  # a pseudonymised run records only the month
                 else f"is in {newest}, well after")
        lines.append(f"Warning: the newest date in the records {after} the audit date {as_of}, and records hold what "
                     "was done, not what is planned. The usual causes are dates read with the day and the month the "
                     "wrong way round (a file re-saved in another date setting) or a wrong --as-of: check both before "
                     "acting on the findings.")
    return lines


def held_back_lines(run: dict[str, Any]) -> list[str]:
    """One line per date column of the export held back (its dates could be read either way round), with the rows
    and cases it held back and the fix: said once per file and column, as on the terminal (exports/assemble.py)."""
    return [f"Cases held back: {note['note']}" for note in run.get("dates_held_back") or []]


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{round(100 * value)}%"


def counts_note(c: Counts) -> str:
    """'(20 of 30; 95% interval 49% to 81%)'."""
    judged = c.met + c.not_met
    if not judged:
        return "(no case could be judged)"
    low, high = c.interval_95 or (0.0, 0.0)
    return f"({c.met} of {judged} met; 95% interval {percent(low)} to {percent(high)})"


def change_note(now: Counts, before: Counts | None) -> str:
    if before is None or now.proportion_met is None or before.proportion_met is None:
        return ""
    points = round(100 * (now.proportion_met - before.proportion_met))
    if points == 0:
        return f" No change since the previous audit ({percent(before.proportion_met)})."
    way = "up" if points > 0 else "down"
    return f" That is {way} {abs(points)} percentage points on the previous audit ({percent(before.proportion_met)})."


@dataclass(frozen=True)
class Choice:
    """A criterion picked as a key strength or an area requiring improvement, and why."""

    criterion: CriterionSummary
    reason: str


def choose(summary: Summary) -> tuple[list[Choice], list[Choice]]:
    """Key strengths and areas requiring improvement, by the documented rule (see the report's last section)."""
    judged = [c for c in summary.criteria if c.met + c.not_met >= MIN_CASES and c.proportion_met is not None]
    strong = sorted((c for c in judged if c.proportion_met >= STRENGTH_FROM),
                    key=lambda c: (-(c.interval_95 or (0, 0))[0], c.criterion))[:LIMIT]
    weak = sorted((c for c in judged if c.proportion_met < AREA_BELOW),
                  key=lambda c: ((c.interval_95 or (0, 0))[1], c.criterion))[:LIMIT]
    return ([Choice(c, f"good enough in {in_words(c.met, c.met + c.not_met)}") for c in strong],
            [Choice(c, f"not good enough in {in_words(c.not_met, c.met + c.not_met)}") for c in weak])


SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def ordered_rules(summary: Summary, criterion: str) -> list[RuleSummary]:
    """Every rule of a criterion: not met first (most severe, then most cases not met), then met, then never judged."""
    rules = [r for r in summary.rules if r.criterion == criterion]
    return sorted(rules, key=lambda r: (0 if r.not_met else (1 if r.met else 2), SEVERITY_ORDER.get(r.severity, 3),
                                        -r.not_met, r.rule_id))


def rule_sentence(r: RuleSummary) -> str:
    """One rule's result in the report's words, with its counts, interval and severity (never left out)."""
    judged = r.met + r.not_met
    head = f"{md(r.title)} ({r.rule_id}; {r.severity} severity): "
    if not judged:
        reasons = []
        if r.insufficient_data:
            reasons.append(f"{plural(r.insufficient_data, 'case')} lacked the data")
        reasons.append(f"it did not apply to {plural(r.not_applicable, 'case')}" if r.not_applicable
                       else "no case was audited")
        return head + "no case could be judged (" + "; ".join(reasons) + ")."
    low, high = r.interval_95 or (0.0, 0.0)
    counts = f"{r.met} of {judged} met; 95% interval {percent(low)} to {percent(high)}"
    if r.not_met:
        text = f"not met in {in_words(r.not_met, judged)} where it could be judged ({counts})"
    else:
        text = f"met in {in_words(r.met, judged)} where it could be judged ({counts})"
    if r.insufficient_data:
        text += f"; {plural(r.insufficient_data, 'more case')} lacked the data to judge"
    return head + text + "."


def _criterion_paragraph(c: CriterionSummary, summary: Summary, before: Summary | None) -> list[str]:
    judged = c.met + c.not_met
    number = c.criterion if c.criterion == "OM" else f"{c.criterion}."
    if not judged:
        first = f"{number} {md(c.title)}. No case could be judged against this criterion."
    else:
        first = (f"{number} {md(c.title)}. The work was good enough in {in_words(c.met, judged)} judged "
                 f"{counts_note(c)}.")
    previous = next((p for p in before.criteria if p.criterion == c.criterion), None) if before else None
    first += change_note(c, previous)
    if c.insufficient_data:
        first += (f" A further {plural(c.insufficient_data, 'case')} lacked the data to judge."
                  if c.insufficient_data > 1 else " A further case lacked the data to judge.")
    before_rules = {r.rule_id: r for r in before.rules} if before else {}
    lines = [first]
    for r in ordered_rules(summary, c.criterion):
        lines.append(f"   - {rule_sentence(r)}" + change_note(r, before_rules.get(r.rule_id)))
    return lines


def _quoted(lines: list[str]) -> list[str]:
    """Lines as separate Markdown quote paragraphs, then a blank line (nothing when there are none)."""
    out: list[str] = []
    for line in lines:
        out += [">"] if out else []
        out.append(f"> {line}")
    return [*out, ""] if out else []


def coverage_lines(run: dict, summary: Summary) -> list[str]:
    """What the export could show, criterion by criterion, when its mapping reads no table for some part of the record
    (run.json's coverage); [] when it held every part."""
    cover = run.get("coverage")
    if not cover:
        return []
    from qa_engine.facts.parts import lacks, part_name

    titles = {c.criterion: c.title for c in summary.criteria}
    out = [f"This export has {lacks(cover['not_exported'])}. Those parts of the record are unknown, not empty, so a check "
           "that needs one is reported as insufficient data, never as not met. For each criterion, the checks that "
           "could be judged from this export:", ""]
    for criterion, entry in cover["criteria"].items():
        needs = (" (the rest need " + ", ".join(part_name(p) for p in entry["needs"]) + ")"
                 if entry["needs"] else "")
        out.append(f"- {criterion} {titles.get(criterion, '')}: {entry['judgeable']} of {entry['rules']} checks{needs}.")
    return out


def _coverage_lines(run: dict, summary: Summary) -> list[str]:
    lines = coverage_lines(run, summary)
    return ["## What this export can show", "", *lines, ""] if lines else []


def markdown(data: Any, problems: RecordProblems, view: JudgementView | None) -> str:
    """The report's text: ``problems`` are the records' problems gathered from the findings, ``view`` the judgement
    section (None when no audit form was read)."""
    s, run = data.summary, data.run
    counts = run["counts"]
    strengths, areas = choose(s)
    out = [
        f"# {md(report_title(run))}",
        "",
        *([f"> **Not to be relied on: {run['read_too_little']}** Fix the export and audit again.", ""]
          if run.get("read_too_little") else []),
        *_quoted(audit_date_lines(run)),
        *_quoted([md(line) for line in held_back_lines(run)]),
        "> **Draft for the manager to edit.** Generated by qa_engine from case records; the judgements "
        "rest on what the records hold, not on reading the case files. Check it before sharing.",
        "",
        *_coverage_lines(run, s),
        "## Context",
        "",
        f"We examined {s.cases_audited} cases as they stood on {s.as_of}"
        + (f" (a sample of {run['sample']['size']} cases, stratified by order type, seed {run['sample']['seed']})"
           if run.get("sample") else "")
        + f". {plural(counts['records_read'], 'record')} {'was' if counts['records_read'] == 1 else 'were'} read"
        + (f" and {counts['rejected']} could not be audited" if counts["rejected"] or "not_sampled" in counts
           else "" if counts.get("out_of_scope") else " and every one was audited")
        + (f"; {counts['unmatched_rows']} {'row' if counts['unmatched_rows'] == 1 else 'rows'} of the export's "
           "tables joined no case" if counts.get("unmatched_rows") else "")
        + (f"; {counts['out_of_scope']} were disposals outside the rule pack's scope and were not judged ("
           + ", ".join(f"{code} {n}" for code, n in (run.get("out_of_scope") or {}).items()) + ")"
           if counts.get("out_of_scope") else "")
        + " (see rejected.jsonl). Proportions are of the cases where a criterion could be judged, with a 95%"
        + " interval: with a sample this size, a proportion is a range, not a point.",
        "",
        "## Summary",
        "",
    ]
    before_sections = {sec.section: sec for sec in data.previous.sections} if data.previous else {}
    for section in s.sections:
        judged = section.met + section.not_met
        if judged:
            out.append(f"- {md(section.section_title)}: good enough on every criterion judged in "
                       f"{in_words(section.met, judged)} {counts_note(section)}."
                       + change_note(section, before_sections.get(section.section)))
    if strengths:
        out.append(f"- Strongest: {'; '.join(md(ch.criterion.title.lower()) for ch in strengths)}.")
    if areas:
        out.append(f"- Most in need of improvement: {'; '.join(md(ch.criterion.title.lower()) for ch in areas)}.")
    sections = [sec for sec in s.sections if sec.section != "OM"]
    for number, section in enumerate(sections, start=1):
        out += ["", f"## {number}. {md(section.section_title)}", ""]
        for key in section.criteria:
            crit = next(c for c in s.criteria if c.criterion == key)
            out += _criterion_paragraph(crit, s, data.previous)
            out.append("")
    om = next((c for c in s.criteria if c.criterion == "OM"), None)
    if om is not None:
        out += ["## Operational management", "", *_criterion_paragraph(om, s, data.previous), ""]
    out += problems.lines()
    out += ["## Key strengths", ""]
    out += [f"- {md(ch.criterion.title)} ({ch.criterion.criterion}): {ch.reason}." for ch in strengths] or [
        "- No criterion met the rule for a key strength."]
    out += ["", "## Areas requiring improvement", ""]
    out += [f"- {md(ch.criterion.title)} ({ch.criterion.criterion}): {ch.reason}." for ch in areas] or [
        "- No criterion met the rule for an area requiring improvement."]
    out += ["", *judgement_markdown(view)]  # empty unless audit forms were read (report/judgements.py)
    out += [
        "## How this draft was produced",
        "",
        f"- Audit date {s.as_of}; qa_engine {run['qa_engine_version']}, durable_rules {run['durable_rules_version']}.",
        f"- Rule pack {run['rule_pack']['sha256'][:12]} ({len(run['rule_pack']['rules'])} rules); policy: "
        f"{md(run['policy'].get('path') or 'national defaults')}.",
        "- Inputs: " + "; ".join(f"{md(i['path'])} (sha256 {str(i['sha256'])[:12]})" for i in run["inputs"]) + ".",
        f"- Key strengths: criteria with at least {MIN_CASES} judged cases and {percent(STRENGTH_FROM)} or more good "
        f"enough, strongest first by the lower end of the 95% interval; at most {LIMIT}.",
        f"- Areas requiring improvement: criteria with at least {MIN_CASES} judged cases and under "
        f"{percent(AREA_BELOW)} good enough, weakest first by the upper end of the interval; at most {LIMIT}.",
        "- Proportions are put in words the way the inspectorate's reports put them (\"over two-thirds\", "
        "\"all but three\"); the count is always given beside them.",
    ]
    if data.previous is not None:
        out.append(f"- Compared with the audit as of {data.previous.as_of}.")
    return "\n".join(out) + "\n"


class RecordProblems:
    """What the records could not support, apart from the practice findings, gathered one finding at a time (see
    RunData.scan): the cases per rule with impossible dates, the cases lacking a value, the cases not yet judged."""

    def __init__(self) -> None:
        self.impossible: dict[str, set[str]] = {}
        self.missing: set[str] = set()
        self.not_judged: set[str] = set()

    def add(self, f: Finding) -> None:
        if f.reason_kind == "impossible_dates":
            self.impossible.setdefault(f.rule_id, set()).add(f.case_id)
        elif f.outcome == "insufficient_data":
            self.missing.add(f.case_id)
        elif f.reason_kind == "order_not_yet_made":
            self.not_judged.add(f.case_id)

    def lines(self) -> list[str]:
        """report.md's section "The records: data to correct", for a data officer (none when there is nothing)."""
        impossible, missing, not_judged = self.impossible, self.missing, self.not_judged
        if not (impossible or missing or not_judged):
            return []
        cases = set().union(*impossible.values()) if impossible else set()
        out = ["## The records: data to correct", "",
               "These are problems with the records, not with the practice: a data officer can correct them "
               "(the worklists list each one, marked \"Record to correct\" or \"Record to complete\")."]
        if impossible:
            out.append(f"- {len(cases)} {'case has' if len(cases) == 1 else 'cases have'} dates that cannot be right "
                       "(a later event dated before the one it follows, as a swapped day and month gives), so "
                       "those checks were not judged: "
                       + "; ".join(f"{rule_id} ({len(ids)})" for rule_id, ids in sorted(impossible.items())) + ".")
        if missing:
            out.append(f"- {len(missing)} {'case lacks' if len(missing) == 1 else 'cases lack'} a value at least one "
                       "check needs, so it could not be judged there (counted as insufficient data, never as not met).")
        if not_judged:
            out.append(f"- {len(not_judged)} {'case was' if len(not_judged) == 1 else 'cases were'} not judged at all: "
                       "the order was made after the audit date.")
        return [*out, ""]


def write_markdown(data: Any, problems: RecordProblems, view: JudgementView | None) -> Path:
    """Write report.md into the run folder (``problems`` and ``view`` gathered from its findings)."""
    return write_text(data.directory / "report.md", markdown(data, problems, view))
