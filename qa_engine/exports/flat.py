"""Writing case records as qa_engine's flat layout: one CSV file (or one workbook sheet) per part of the record.

The columns are the ones mappings/flat.yaml reads, so reading the folder back needs no mapping and
gives the same records. Files are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_engine.base.errors import InputError
from qa_engine.exports.mapping import Mapping, Table, flat_mapping
from qa_engine.exports.raw import DEFAULT_LIMITS, Limits
from qa_engine.exports.sources import read_inputs
from qa_engine.exports.tables import WORKBOOK_SUFFIXES
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.records.layout import RECORD, get_path
from qa_engine.trust.files import AtomicFile

__all__ = ["ExportResult", "export_flat"]


@dataclass
class ExportResult:
    """What an export wrote: cases, rows per table, and the records that could not be exported."""

    cases: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    held_dates: list[Any] = field(default_factory=list)
    """Date columns held back (assemble.HeldDates), to be said once each rather than on each row."""


def _text(value: Any, separator: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return separator.join(str(v) for v in value)
    return str(value)


def _rows(table: Table, record: dict[str, Any]) -> Iterator[list[Any]]:
    """The table's rows for one record: join values first, then each column's value (Python values, not text)."""
    target = table.target
    if target.name == RECORD:
        yield [get_path(record, c.field.path) for c in table.columns]
        return
    if target.parent is None:
        holders: list[tuple[dict[str, Any] | None, list[Any]]] = [(None, get_path(record, target.name) or [])]
    else:
        sub = target.name[len(target.parent) + 1:]
        holders = [(item, item.get(sub) or []) for item in get_path(record, target.parent) or []]
    for parent, items in holders:
        keys = table.join_values(record, parent)
        for item in items:
            yield [*keys, *(get_path(item, c.field.path) for c in table.columns)]


_OOXML_LITERAL = re.compile("_x(?=[0-9A-Fa-f]{4}_)")


_OOXML_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")


def _ooxml_escape(text: str) -> str:
    """Text as a workbook must store it: a carriage return or other control character as ``_xHHHH_`` (XML cannot
    hold them, or turns a carriage return into a line feed), and a literal ``_xHHHH_`` as ``_x005F_xHHHH_`` (see
    tables.ooxml_unescape, which reads them back, as Excel does)."""
    if "_x" in text:
        text = _OOXML_LITERAL.sub("_x005F_x", text)
    return _OOXML_CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _header(table: Table) -> list[str]:
    return [column for _, column in table.join] + [c.column or c.field.path for c in table.columns]


class _CsvTables:
    def __init__(self, out: Path, mapping: Mapping) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.files = {t.name: AtomicFile(out / t.file, encoding="utf-8-sig", newline="") for t in mapping.ordered}
        self.writers = {name: csv.writer(f.handle, lineterminator="\r\n") for name, f in self.files.items()}
        self.separator = ";"

    def header(self, table: Table) -> None:
        self.writers[table.name].writerow(_header(table))

    def row(self, table: Table, values: list[Any], case_id: str) -> None:
        try:
            self.writers[table.name].writerow([_text(v, self.separator) for v in values])
        except csv.Error as exc:  # Python 3.10's csv module cannot write a NUL character; 3.11 and later can
            msg = (f"case {case_id}: a value in its {table.name} rows holds a character a CSV file cannot hold on this "
                   f"Python ({exc}); export to a workbook instead (--out FILE.xlsx)")
            raise InputError(msg) from None

    def commit(self) -> None:
        for f in self.files.values():
            f.commit()

    def abandon(self) -> None:
        for f in self.files.values():
            f.abandon()


class _Workbook:
    def __init__(self, out: Path, mapping: Mapping) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        self.out = out
        self.book = Workbook(write_only=True)
        self.sheets = {t.name: self.book.create_sheet(t.sheet) for t in mapping.ordered}
        self.kinds = {t.name: ["string"] * len(t.join) + [c.field.kind for c in t.columns] for t in mapping.ordered}
        """Each table's column kinds, in the order of its rows' values (the join's, then each column's)."""
        self.cell = WriteOnlyCell
        self.separator = ";"

    def header(self, table: Table) -> None:
        self.sheets[table.name].append(_header(table))

    def row(self, table: Table, values: list[Any], case_id: str) -> None:
        sheet = self.sheets[table.name]
        cells = []
        for value, kind in zip(values, self.kinds[table.name], strict=True):
            if kind == "date" and isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
                with contextlib.suppress(ValueError):
                    value = dt.date.fromisoformat(value)
            elif isinstance(value, list):
                value = _text(value, self.separator)
            cell = self.cell(sheet, value=_ooxml_escape(value) if isinstance(value, str) else value)
            if isinstance(value, str):
                cell.data_type = "s"  # text that starts with "=" stays text, never a formula
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)

    def commit(self) -> None:
        tmp = self.out.with_name(self.out.name + ".partial")
        self.book.save(tmp)
        tmp.replace(self.out)

    def abandon(self) -> None:
        for sheet in self.sheets.values():  # finish each sheet's writer, so nothing is left half-open
            with contextlib.suppress(Exception):
                sheet.close()
        self.out.with_name(self.out.name + ".partial").unlink(missing_ok=True)


def export_flat(inputs: list[str], out: Path, limits: Limits = DEFAULT_LIMITS,
                mapping: Mapping | None = None) -> ExportResult:
    """Write the valid records of ``inputs`` to ``out`` in the flat layout: a folder of CSV files, or an .xlsx
    workbook when ``out`` ends in .xlsx. Invalid records are not written; they are returned as rejections."""
    flat = flat_mapping()
    tables = flat.ordered
    sink: _CsvTables | _Workbook = _Workbook(out, flat) if out.suffix.lower() in WORKBOOK_SUFFIXES else _CsvTables(out, flat)
    result = ExportResult(rows={t.name: 0 for t in tables})
    validator = Validator()
    try:
        for table in tables:
            sink.header(table)
        for raw in read_inputs(inputs, limits, mapping, result.held_dates):
            checked = validator.validate(raw)
            if isinstance(checked, Rejection):
                result.rejections.append(checked)
                continue
            record = checked.model_dump(mode="json")
            for table in tables:
                for values in _rows(table, record):
                    sink.row(table, values, checked.case_id)
                    result.rows[table.name] += 1
            result.cases += 1
        sink.commit()
    except BaseException:
        sink.abandon()
        raise
    finally:
        validator.close()
    return result

