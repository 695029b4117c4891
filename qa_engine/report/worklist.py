"""Worklists for case managers: every not-met finding, what to do and by when, most serious and oldest first;
then, apart, every finding the record could not support (impossible dates, values not recorded), for a data
officer to correct the record rather than chase the case manager (the "Kind" column says which).

As CSV (one file) and as a workbook with a sheet per case manager and a sheet per team. Dates are real
date cells in the workbook. The workbook's bytes depend only on the run: its recorded times (document
properties and the times of the files inside it) are the audit date, never the clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from pathlib import Path
from typing import Any

from qa_engine.base.calendar import WorkingCalendar
from qa_engine.base.text import display
from qa_engine.records.model import order_type_label
from qa_engine.report.actions import calendar_of, rule_action_specs, to_do
from qa_engine.report.titles import report_title
from qa_engine.rulepack.model import SEVERITY_RANK, Action
from qa_engine.trust.files import write_bytes, write_text

__all__ = ["COLUMNS", "DATE_COLUMNS", "KIND_TEXT", "WorklistRows", "kind_text", "safe_cell", "write_worklists"]

COLUMNS = ("Case manager", "Team", "Case", "Order type", "Sentence date", "Severity", "Criterion", "Rule",
           "What was found", "What to do", "Due by", "Kind")
"""The worklist's columns; "What to do" comes from the rule's ``action`` (see report/actions.py)."""
DATE_COLUMNS = (4, 10)
"""Columns holding dates: date cells in the workbook, ISO text in the CSV."""
KIND_TEXT = {
    "practice": "Practice: not met",
    "impossible_dates": "Record to correct: impossible dates",
    "missing_data": "Record to complete: not recorded",
}
"""How a finding's reason kind reads in the worklists: practice problems apart from the record's problems."""
_KIND_ORDER = {text: n for n, text in enumerate(KIND_TEXT.values())}
"""Practice first, then impossible dates, then values not recorded."""
_RECORD_TODO = {
    "impossible_dates": "Correct the dates in the record (see what was found)",
    "missing_data": "Record what is missing, or find where it is recorded",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet could run as a formula is prefixed with an apostrophe, so it stays text; control
    characters are shown as [U+XXXX] (qa_engine.base.text)."""
    if isinstance(value, str):
        value = display(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def kind_text(finding: Any) -> str:
    """The worklist's Kind of a not-met or insufficient-data finding (practice, or the record to fix)."""
    kind = finding.reason_kind or ("practice" if finding.outcome == "not_met" else "missing_data")
    return KIND_TEXT.get(kind, kind.replace("_", " "))


class WorklistRows:
    """The worklist's rows, gathered one finding at a time (see RunData.scan): every not-met finding (practice), then
    every finding the record could not support (impossible dates, then values not recorded); each group most serious
    first, then oldest order, then case and rule. Only the row and its sort key are kept, never the finding."""

    def __init__(self, actions: dict[str, Action], as_of: dt.date, calendar: WorkingCalendar | None = None) -> None:
        self.actions = actions
        self.as_of = as_of
        self.calendar = calendar or WorkingCalendar()
        self._rows: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []

    @classmethod
    def of_run(cls, data: Any) -> WorklistRows:
        """For a run: its rules' actions, its audit date and its policy's calendar."""
        return cls(rule_action_specs(data), dt.date.fromisoformat(data.summary.as_of), calendar_of(data.run))

    def add(self, f: Any) -> None:
        if f.outcome == "not_met":
            todo = to_do(self.actions.get(f.rule_id), f, self.as_of, self.calendar)
            text, due = todo.text, todo.due
        elif f.outcome == "insufficient_data":
            text, due = _RECORD_TODO.get(f.reason_kind or "missing_data", _RECORD_TODO["missing_data"]), None
        else:
            return
        sentenced = f.sentence_date  # a pseudonymised run's month (2015-08) stays text
        if sentenced and len(sentenced) == 10:
            sentenced = dt.date.fromisoformat(sentenced)
        kind = kind_text(f)
        key = (_KIND_ORDER.get(kind, len(_KIND_ORDER)), -SEVERITY_RANK[f.severity], f.sentence_date or "9999",
               f.case_id, f.rule_id)
        self._rows.append((key, (f.case_manager_id or "Unassigned", f.team or "No team", f.case_id,
                                 order_type_label(f.order_type), sentenced, f.severity, f.criterion, f.rule_id,
                                 f.message, text, due, kind)))

    def rows(self) -> list[tuple[Any, ...]]:
        """Each row: the columns of COLUMNS, the sentence date and the due date as ``datetime.date`` (or None)."""
        self._rows.sort(key=lambda pair: pair[0])
        return [row for _, row in self._rows]


def _csv(rows: list[tuple[str, ...]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([v.isoformat() if isinstance(v, dt.date) else safe_cell("" if v is None else v) for v in row])
    return buffer.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("-", display(name)).strip("'")[:28] or "Sheet"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base[:26]}-{n}"
    used.add(candidate.lower())
    return candidate


def _xlsx(rows: list[tuple[Any, ...]], as_of: dt.date, heading: str = "") -> bytes:
    """The worklist workbook: a sheet per case manager, then a sheet per team, written row by row in write-only mode.

    Each row costs the same however many rows its sheet already has, and no sheet is held in memory
    (openpyxl's normal mode finds the last row by scanning every cell, once per row appended).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook(write_only=True)
    stamp = dt.datetime.combine(as_of, dt.time())
    book.properties.created = book.properties.modified = stamp
    book.properties.creator = "qa_engine"
    if heading:
        book.properties.title = f"{heading}: worklist"
    sheets: list[tuple[str, list[tuple[Any, ...]]]] = []
    by_manager: dict[str, list[tuple[Any, ...]]] = {}
    by_team: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_manager.setdefault(row[0], []).append(row)
        by_team.setdefault(row[1], []).append(row)
    sheets += [(manager, by_manager[manager]) for manager in sorted(by_manager)]
    sheets += [(f"Team {team}", by_team[team]) for team in sorted(by_team)]
    if not sheets:
        sheets.append(("No actions", []))
    used: set[str] = set()
    widths = (14, 12, 14, 22, 13, 9, 9, 34, 60, 50, 12, 24)
    bold, wrap, top = Font(bold=True), Alignment(wrap_text=True, vertical="top"), Alignment(vertical="top")
    for title, sheet_rows in sheets:
        sheet = book.create_sheet(_sheet_name(title, used))
        sheet.freeze_panes = "A2"
        # printed as a manager would want it: landscape, every column on one page's width, the header row on each page
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = "9"  # A4 (ECMA-376 paper size 9)
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_title_rows = "1:1"
        if heading:  # the report's title heads every printed page, with the sheet's name (the header row stays row 1)
            sheet.oddHeader.center.text = f"{_print_text(heading)}: worklist, &A"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(sheet_rows) + 1}"
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        header = []
        for name in COLUMNS:
            cell = WriteOnlyCell(sheet, name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for number, row in enumerate(sheet_rows, start=2):
            # tall enough for its wrapped text (a spreadsheet does not grow a row written this way; printed, the lines
            # would otherwise overlap)
            sheet.row_dimensions[number].height = 15 * max(
                (_wrapped_lines(value, width) for value, width in zip(row, widths, strict=False)
                 if isinstance(value, str)), default=1)
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, display(value) if isinstance(value, str) else value)
                if isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
                    cell.alignment = top
                elif isinstance(value, str):
                    cell.data_type = "s"  # text from the input is never a formula
                    cell.alignment = wrap
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()  # not save_workbook, which stamps the clock time as "modified"
    return _fixed_times(out.getvalue(), as_of)


def _wrapped_lines(text: str, width: int) -> int:
    """About how many lines ``text`` takes wrapped in a column ``width`` characters wide (a few spare for word breaks)."""
    return sum(max(1, math.ceil(len(part) / max(width - 1, 1))) for part in text.split("\n"))


def _print_text(text: str) -> str:
    """Text for a print header: "&" starts a header code in Excel (&A is the sheet's name), so a literal one is
    doubled."""
    return text.replace("&", "&&")


def _fixed_times(data: bytes, day: dt.date) -> bytes:
    """The same zip with every member's time set to ``day``, so the same run gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(day.year, day.month, day.day, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            archive.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def write_worklists(data: Any, gathered: WorklistRows) -> list[Path]:
    """Write worklist.csv and worklist.xlsx into the run folder, from the rows gathered from its findings."""
    rows, as_of = gathered.rows(), gathered.as_of
    return [write_text(data.directory / "worklist.csv", _csv(rows)),
            write_bytes(data.directory / "worklist.xlsx", _xlsx(rows, as_of, report_title(data.run)))]
