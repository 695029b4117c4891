"""The case-audit form: a workbook a manager fills in Excel, one sheet per case, written from a finished run.

It reads a finished (usually sampled) run, as the rest of the report does, and writes what a manager
needs to judge each case by reading its file: the criteria's questions in the inspectorate's terms
(rules/criteria.yaml), beside them what the records show (the run's data findings for that
criterion), and answer cells with a drop-down. The layout is shared with the reader
(exports/auditform.py), which takes back only the answers, comments and auditor ids.

Why one sheet per case: a manager audits one case file at a time, as an inspector does, so each
sheet is one sitting: the case's questions from 1.1 to operational management, with that case's
evidence beside each criterion, printable as the case's audit record. One row per case and
criterion in a single sheet would put 30 cases x 57 questions (1,710 rows) in one list, with each
case's evidence scattered through it. The cover lists the cases by case manager.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qa_engine.base.errors import InputError
from qa_engine.base.version import __version__
from qa_engine.exports.auditform import (
    ANSWER_KEY,
    AUDITOR_CELL,
    CASE_ID_CELL,
    CASE_LABEL,
    COLUMNS,
    COVER,
    COVER_SHEET,
    FORM_TITLE,
    HEADER_ROW,
    case_rows,
)
from qa_engine.records.model import order_type_label
from qa_engine.report.build import load_run
from qa_engine.report.judgements import ROLL_UP_RULE
from qa_engine.report.titles import report_title
from qa_engine.report.worklist import safe_cell
from qa_engine.rulepack.model import Question, RulePack
from qa_engine.trust.runkey import run_key

__all__ = ["FormCase", "write_audit_forms"]

SplitBy = Literal["case_manager", "team"]
_OUTCOME_WORDS = {"not_met": "NOT MET", "insufficient_data": "insufficient data", "met": "met",
                  "not_applicable": "not applicable"}
_ASKS = {"is_there_one": "Is there one?", "good_enough": "Is it good enough?"}
_SCALE = {"yes_no": "Yes or No", "yes_no_na": "Yes, No or Not applicable",
          "sufficient_insufficient": "Yes (sufficient) or No (insufficient)"}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_FILE_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_WIDTHS = {"A": 13, "B": 15, "C": 62, "D": 62, "E": 17, "F": 42}
_MAX_CASES = 2000
MAX_ROW_HEIGHT = 409
"""Excel's tallest row, in points."""


@dataclass
class FormCase:
    """One case as the form shows it: who holds it, the order, and its data findings per criterion."""

    case_id: str
    case_manager_id: str | None
    team: str | None
    order_type: str
    sentence_date: str | None
    evidence: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    """criterion -> (rule title, outcome, message) for each data rule, worst first."""


def _cases(data: Any, pack: RulePack) -> list[FormCase]:
    titles = {r.id: r.title for r in pack.rules}
    data_rules = {r.id for r in pack.rules if r.basis == "recorded_data"}
    order = {"not_met": 0, "insufficient_data": 1, "met": 2, "not_applicable": 3}
    cases: dict[str, FormCase] = {}
    for f in data.findings():
        case = cases.get(f.case_id)
        if case is None:
            if len(cases) >= _MAX_CASES:
                msg = (f"the run holds more than {_MAX_CASES:,} cases: an audit form is for a sample; audit with "
                       "--sample 30 and write the form from that run")
                raise InputError(msg)
            case = cases[f.case_id] = FormCase(f.case_id, f.case_manager_id, f.team, f.order_type, f.sentence_date)
        if f.rule_id in data_rules:
            case.evidence.setdefault(f.criterion, []).append((titles.get(f.rule_id, f.rule_id), f.outcome, f.message))
    for case in cases.values():
        for items in case.evidence.values():
            items.sort(key=lambda item: (order[item[1]], item[0]))
    return sorted(cases.values(), key=lambda c: (c.case_manager_id is None, c.case_manager_id or "", c.case_id))


def _evidence_text(items: list[tuple[str, str, str]]) -> str:
    if not items:
        return "No data rule checks this criterion."
    lines = [f"• {title}: {_OUTCOME_WORDS[outcome]}. {message}" for title, outcome, message in items
             if outcome != "not_applicable"]
    skipped = [title for title, outcome, _ in items if outcome == "not_applicable"]
    if skipped:
        lines.append("Not applicable to this case: " + "; ".join(skipped) + ".")
    return "\n".join(lines)


def _lines(text: str, width: int) -> int:
    """Lines a wrapped cell of ``width`` characters needs for ``text`` (an estimate: Excel does not fit rows itself)."""
    per_line = max(int(width * 1.1), 10)
    return sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))


def _height(lines: int) -> float:
    """Points for a row of ``lines`` lines of text, within Excel's limit (a taller row makes Excel repair the file)."""
    return min(MAX_ROW_HEIGHT, 15 * lines)


def _sheet_title(case_id: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("-", case_id).strip("'")[:28] or "Case"
    title, n = base, 1
    while title.lower() in used or title == COVER_SHEET:
        n += 1
        title = f"{base[:25]}-{n}"
    used.add(title.lower())
    return title


def _question_text(q: Question) -> str:
    text = q.text
    if q.good_enough_when:
        text += f"\nGood enough when: {q.good_enough_when}"
    tag = "verified" if q.status == "verified" else q.status.replace("_", " ")
    text += f"\n[{_SCALE[q.scale]}; {tag}" + (f": {q.note}" if q.note else "") + "]"
    return text


class _Styles:
    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

        self.bold = Font(bold=True)
        self.title = Font(bold=True, size=15)
        self.heading = Font(bold=True, size=12)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.fill_heading = PatternFill("solid", fgColor="D9E1F2")
        self.fill_input = PatternFill("solid", fgColor="FFF2CC")
        self.fill_evidence = PatternFill("solid", fgColor="F2F2F2")
        thin = Side(style="thin", color="A6A6A6")
        self.box = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.unlocked = Protection(locked=False)


def _protect(ws: Any) -> None:
    """Lock the sheet with no password; the user may still resize rows and columns."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def _fit_width(ws: Any) -> None:
    """Print landscape, one page wide."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _input_cell(ws: Any, ref: str, st: _Styles) -> None:
    cell = ws[ref]
    cell.protection = st.unlocked
    cell.fill = st.fill_input
    cell.border = st.box
    cell.alignment = st.wrap


def _cover(ws: Any, st: _Styles, *, run: dict[str, Any], key: str, cases: list[FormCase], titles: dict[str, str],
           part: str) -> None:
    ws.title = COVER_SHEET
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 70
    for col in "CDE":
        ws.column_dimensions[col].width = 22
    ws["A1"] = FORM_TITLE
    ws["A1"].font = st.title
    ws.merge_cells("A2:E2")
    ws["A2"].alignment = st.wrap
    ws.row_dimensions[2].height = 45
    ws["A2"] = safe_cell(f"{report_title(run)}. A self-assessment against HM Inspectorate of Probation's Short "
                         "Quality Screening (SQS) criteria, for the cases of one qa_engine run. Draft questions "
                         "paraphrased from the inspectorate's published reports; check them against your own guidance.")
    steps = [
        "What to do",
        "1. Each case has its own sheet (tabs along the bottom; the list below gives them by case manager). Read the "
        "case file, then answer each question in column E from the drop-down: Yes, No or Not applicable.",
        "2. 'Is there one?' asks whether the work exists; 'Is it good enough?' whether it is of good enough quality. "
        "Answer Not applicable where a question does not apply (e.g. 1.3 where there was no pre-sentence report).",
        "3. Column D shows what the case records show for that criterion (the data rules' findings): evidence to "
        "weigh, not the answer. Where you and the data part company, the report lists the case.",
        "4. Leave an answer blank if you have not judged it yet: it is counted as still to do, never as Yes or No.",
        "5. Put your id (e.g. MGR-1, not your name) in cell B6 of each case sheet you answer. A comment (column F) is "
        "optional: never write a child's name in it.",
        "6. Do not add, move or delete rows or sheets. All other cells are locked (no password); the form is checked "
        "against its run when it is read back, and refused with the cell if it does not match.",
        "7. Save as .xlsx and send it back, to be read with: qa-engine report RUN_DIR --judgements FORM.xlsx",
    ]
    for offset, text in enumerate(steps):
        cell = ws.cell(row=4 + offset, column=1, value=text)
        if offset == 0:
            cell.font = st.heading
        else:
            ws.merge_cells(start_row=4 + offset, start_column=1, end_row=4 + offset, end_column=5)
            cell.alignment = st.wrap
            ws.row_dimensions[4 + offset].height = _height(_lines(text, 150))
    ws["A13"] = "This form belongs to"
    ws["A13"].font = st.heading
    meta = [
        (COVER["as_of"], "Run as of", run.get("as_of", "")),
        (COVER["pack"], "Rule pack (sha256)", (run.get("rule_pack") or {}).get("sha256", "")),
        (COVER["run_key"], "Run key (sha256)", key),
        ("B17", "Cases in this form", len(cases)),
        ("B18", "For", part),
        ("B19", "Written by", f"qa_engine {__version__}"),
    ]
    for ref, label, value in meta:
        row = int(ref[1:])
        ws.cell(row=row, column=1, value=label).font = st.bold
        ws[ref] = safe_cell(value)
    ws["A21"] = "Answer key"
    ws["A21"].font = st.heading
    key_rows = [(ANSWER_KEY["yes"], "Good enough (or, for 'Is there one?', there is one)."),
                (ANSWER_KEY["no"], "Not good enough (or there is none)."),
                (ANSWER_KEY["not_applicable"], "The question does not apply to this case: left out of the proportion."),
                ("(blank)", "Not yet judged: counted as still to do.")]
    for offset, (word, meaning) in enumerate(key_rows):
        ws.cell(row=22 + offset, column=1, value=word).font = st.bold
        ws.cell(row=22 + offset, column=2, value=meaning)
    ws["A27"] = "How the answers count"
    ws["A27"].font = st.heading
    ws.merge_cells("A28:E28")
    ws["A28"] = ROLL_UP_RULE
    ws["A28"].alignment = st.wrap
    ws.row_dimensions[28].height = _height(_lines(ROLL_UP_RULE, 150))
    ws["A30"] = "Cases, by case manager"
    ws["A30"].font = st.heading
    for col, label in enumerate(("Case manager", "Sheet (case)", "Team", "Order type", "Sentence date"), start=1):
        cell = ws.cell(row=31, column=col, value=label)
        cell.font = st.bold
        cell.fill = st.fill_heading
    for offset, case in enumerate(cases):
        values = (case.case_manager_id or "Unassigned", titles[case.case_id], case.team or "",
                  order_type_label(case.order_type), case.sentence_date or "")
        for col, value in enumerate(values, start=1):
            ws.cell(row=32 + offset, column=col, value=safe_cell(value))
    _fit_width(ws)
    _protect(ws)


def _case_sheet(ws: Any, st: _Styles, case: FormCase, pack: RulePack, layout: list[tuple[int, str, str]],
                validation: Any) -> None:
    for col, width in _WIDTHS.items():
        ws.column_dimensions[col].width = width
    ws["A1"] = f"Case audit: {case.case_id}"
    ws["A1"].font = st.title
    ws["A2"], ws[CASE_ID_CELL] = CASE_LABEL, safe_cell(case.case_id)
    ws["A3"], ws["B3"] = "Case manager", safe_cell(case.case_manager_id or "Unassigned")
    ws["A4"], ws["B4"] = "Team", safe_cell(case.team or "")
    order = order_type_label(case.order_type) + (f", sentenced {case.sentence_date}" if case.sentence_date else "")
    ws["A5"], ws["B5"] = "Order", safe_cell(order)
    ws["A6"] = "Auditor's id"
    for ref in ("A2", "A3", "A4", "A5", "A6"):
        ws[ref].font = st.bold
    _input_cell(ws, AUDITOR_CELL, st)
    ws.merge_cells("C6:F7")
    ws["C6"] = ("Your id here (e.g. MGR-1), then answer in column E: Yes, No or Not applicable from the drop-down; "
                "blank = not yet judged. Column D is what the records show: evidence, not the answer.")
    ws["C6"].alignment = st.wrap
    headers = {"key": "Question", "asks": "Asks", "question": "What to judge", "evidence": "What the records show",
               "answer": "Answer", "comment": "Comment (optional; no names)"}
    for name, label in headers.items():
        cell = ws[f"{COLUMNS[name]}{HEADER_ROW}"]
        cell.value = label
        cell.font = st.bold
        cell.fill = st.fill_heading
        cell.border = st.box
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    criteria = pack.criteria
    questions = {q.key: q for c in criteria.values() for q in c.questions}
    blocks: dict[str, list[int]] = defaultdict(list)
    for row, criterion, key in layout:
        if not key:
            crit = criteria[criterion]
            ws[f"A{row}"] = criterion
            ws[f"B{row}"] = crit.title
            ws[f"C{row}"] = crit.wording
            for col in "ABCDEF":
                ws[f"{col}{row}"].font = st.bold
                ws[f"{col}{row}"].fill = st.fill_heading
                ws[f"{col}{row}"].alignment = st.wrap
            ws.row_dimensions[row].height = _height(max(_lines(crit.wording, _WIDTHS["C"]), _lines(crit.title, _WIDTHS["B"])))
            continue
        q = questions[key]
        blocks[criterion].append(row)
        ws[f"A{row}"] = key
        ws[f"B{row}"] = _ASKS[q.asks]
        text = _question_text(q)
        ws[f"C{row}"] = text
        for col in "ABC":
            ws[f"{col}{row}"].alignment = st.wrap
            ws[f"{col}{row}"].border = st.box
        if q.headline:
            ws[f"A{row}"].font = st.bold
        _input_cell(ws, f"{COLUMNS['answer']}{row}", st)
        _input_cell(ws, f"{COLUMNS['comment']}{row}", st)
        validation.add(f"{COLUMNS['answer']}{row}")
        ws.row_dimensions[row].height = _height(_lines(text, _WIDTHS["C"]))
    for criterion, rows in blocks.items():
        evidence = _evidence_text(case.evidence.get(criterion, []))
        top, bottom = rows[0], rows[-1]
        ref = f"{COLUMNS['evidence']}{top}"
        ws[ref] = safe_cell(evidence)
        ws[ref].alignment = st.wrap
        ws[ref].fill = st.fill_evidence
        ws[ref].border = st.box
        if bottom > top:
            ws.merge_cells(f"{ref}:{COLUMNS['evidence']}{bottom}")
        short = 15 * _lines(evidence, _WIDTHS["D"]) - sum(ws.row_dimensions[r].height or 15 for r in rows)
        for r in reversed(rows):  # the evidence needs more height than the questions: add it, bottom row first
            if short <= 0:
                break
            now = ws.row_dimensions[r].height or 15
            ws.row_dimensions[r].height = min(MAX_ROW_HEIGHT, now + short)
            short -= ws.row_dimensions[r].height - now
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    _fit_width(ws)
    _protect(ws)


def _workbook(run: dict[str, Any], key: str, cases: list[FormCase], pack: RulePack, part: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    st = _Styles()
    book = Workbook()
    book.properties.creator = "qa_engine"
    book.properties.title = f"{report_title(run)}: {FORM_TITLE.lower()}"
    used: set[str] = {COVER_SHEET.lower()}
    titles = {case.case_id: _sheet_title(case.case_id, used) for case in cases}
    _cover(book.active, st, run=run, key=key, cases=cases, titles=titles, part=part)
    layout = case_rows([(cid, [q.key for q in c.questions]) for cid, c in pack.criteria.items() if c.questions])
    words = ",".join(ANSWER_KEY.values())
    for case in cases:
        ws = book.create_sheet(titles[case.case_id])
        validation = DataValidation(type="list", formula1=f'"{words}"', allow_blank=True, showErrorMessage=True,
                                    errorTitle="Not in the answer key",
                                    error="Choose Yes, No or Not applicable, or leave the answer blank if not yet judged.",
                                    promptTitle="Answer", prompt="Yes, No or Not applicable; blank = not yet judged.",
                                    showInputMessage=True)
        ws.add_data_validation(validation)
        _case_sheet(ws, st, case, pack, layout, validation)
    book.security = WorkbookProtection(lockStructure=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _part_file(out: Path, value: str, used: set[str]) -> Path:
    stem = _FILE_BAD.sub("-", value).strip("-.")[:40] or "unassigned"
    name, n = stem, 1
    while name.lower() in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name.lower())
    return out.with_name(f"{out.stem}-{name}{out.suffix}")


def write_audit_forms(run_dir: Path | str, out: Path | str, split_by: SplitBy | None = None,
                      rules_dir: Path | str | None = None) -> list[tuple[Path, int]]:
    """Write the case-audit workbook(s) for a finished run; return each file written with its number of cases.

    With ``split_by`` (``case_manager`` or ``team``), one workbook per case manager or team, named
    ``<out stem>-<value>.xlsx`` beside ``out``. The run's rule pack is read from where the run found it
    (or ``rules_dir``) and must still have the hash the run recorded.

    Raises:
        InputError: the run is incomplete, holds no case or too many, its rule pack has changed, or ``out``
            does not end in .xlsx.
    """
    from qa_engine.rulepack.load import load_rules
    from qa_engine.trust.files import write_bytes

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        msg = f"the audit form must be an .xlsx file, not {out.name}"
        raise InputError(msg)
    data = load_run(run_dir)
    run = data.run
    recorded = (run.get("rule_pack") or {}).get("sha256")
    pack = load_rules(rules_dir or (run.get("rule_pack") or {}).get("directory"))
    if pack.sha256 != recorded:
        msg = (f"the rule pack in {pack.directory} has changed since the run (hash {pack.sha256[:12]}..., the run used "
               f"{str(recorded)[:12]}...): audit again, then write the form")
        raise InputError(msg)
    cases = _cases(data, pack)
    if not cases:
        msg = f"{run_dir} holds no audited case, so there is nothing to judge"
        raise InputError(msg)
    key = run_key(run)
    if split_by is None:
        parts = [(out, "all cases in the run", cases)]
    else:
        groups: dict[str, list[FormCase]] = defaultdict(list)
        for case in cases:
            value = case.case_manager_id if split_by == "case_manager" else case.team
            groups[value or ""].append(case)
        used: set[str] = set()
        label = "case manager" if split_by == "case_manager" else "team"
        parts = [(_part_file(out, value or "unassigned", used), f"{label} {value or '(none recorded)'}", group)
                 for value, group in sorted(groups.items(), key=lambda kv: (kv[0] == "", kv[0]))]
    written = []
    for path, part, group in parts:
        write_bytes(path, _workbook(run, key, group, pack, part))
        written.append((path, len(group)))
    return written
