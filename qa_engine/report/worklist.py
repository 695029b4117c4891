"""Worklists for case managers: every not-met finding, most serious and oldest first, as CSV and as a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

from qa_engine.rulepack.model import SEVERITY_RANK
from qa_engine.trust.files import write_bytes, write_text

__all__ = ["COLUMNS", "safe_cell", "worklist_rows", "write_worklists"]

COLUMNS = ("Case manager", "Team", "Case", "Order type", "Sentence date", "Severity", "Criterion", "Rule",
           "What was found", "What is expected")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet could run as a formula is prefixed with an apostrophe, so it stays text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def worklist_rows(findings: Any, titles: dict[str, str]) -> list[tuple[str, ...]]:
    """Not-met findings as worklist rows, most serious first, then oldest order, then case and rule."""
    rows = []
    for f in findings:
        if f.outcome != "not_met":
            continue
        rows.append((f, (f.case_manager_id or "Unassigned", f.team or "", f.case_id, f.order_type.replace("_", " "),
                         f.sentence_date or "", f.severity, f.criterion, f.rule_id, f.message,
                         titles.get(f.rule_id, ""))))
    rows.sort(key=lambda pair: (-SEVERITY_RANK[pair[0].severity], pair[0].sentence_date or "9999", pair[0].case_id,
                                pair[0].rule_id))
    return [row for _, row in rows]


def _csv(rows: list[tuple[str, ...]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("-", name).strip("'")[:28] or "Sheet"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base[:26]}-{n}"
    used.add(candidate.lower())
    return candidate


def _xlsx(rows: list[tuple[str, ...]], as_of: dt.date) -> bytes:
    """The worklist workbook, a sheet per case manager, written row by row in write-only mode.

    Each row costs the same however many rows its sheet already has, and no sheet is held in memory
    (openpyxl's normal mode finds the last row by scanning every cell, once per row appended).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    stamp = dt.datetime.combine(as_of, dt.time())
    book.properties.created = book.properties.modified = stamp
    by_manager: dict[str, list[tuple[str, ...]]] = {}
    for row in rows:
        by_manager.setdefault(row[0], []).append(row)
    if not by_manager:
        by_manager["No actions"] = []
    used: set[str] = set()
    widths = (14, 10, 14, 22, 13, 9, 9, 34, 70, 50)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for manager in sorted(by_manager):
        sheet = book.create_sheet(_sheet_name(manager, used))
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(by_manager[manager]) + 1}"
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        header = []
        for name in COLUMNS:
            cell = WriteOnlyCell(sheet, name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in by_manager[manager]:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text from the input is never a formula
                    cell.alignment = wrap
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_worklists(data) -> list[Path]:
    """Write worklist.csv and worklist.xlsx into the run folder."""
    titles = {r.rule_id: r.title for r in data.summary.rules}
    rows = worklist_rows(data.findings(), titles)
    as_of = dt.date.fromisoformat(data.summary.as_of)
    return [write_text(data.directory / "worklist.csv", _csv(rows)),
            write_bytes(data.directory / "worklist.xlsx", _xlsx(rows, as_of))]
