"""Joining an export's tables into case records through a mapping, in bounded memory, keeping where every value came from.

Every table but the record table is first copied into a private temporary SQLite database on disk,
indexed on its join key; then the record table is read row by row and each case collects its rows
from the others. Memory holds one case at a time, whatever the size of the export. A row no case
claims is reported (an unmatched row), never dropped.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import structlog

from qa_engine.base.errors import InputError
from qa_engine.base.yamlfile import suggest
from qa_engine.exports.mapping import (
    FLAT_MAPPING,
    OUT_OF_SCOPE,
    WHITESPACE,
    CellError,
    Column,
    Mapping,
    Table,
    date_order,
    day_and_month,
    order_clash,
    order_shown,
    show,
    without_time,
)
from qa_engine.exports.raw import COLUMN_INDEXES, DEFAULT_LIMITS, Limits, Locator, RawRecord
from qa_engine.exports.tables import WORKBOOK_SUFFIXES, Export, TableReader, formula_text, normal_name, open_export
from qa_engine.records.layout import RECORD, get_path, set_path
from qa_engine.records.model import OPTIONAL_FIELDS, OPTIONAL_PARTS

__all__ = ["HeldDates", "check_export", "export_files", "is_export", "not_exported", "read_export", "register_mapping"]

log = structlog.get_logger("qa_engine.assemble")
REQUIRED_SINGLE = frozenset({"child", "order"})
"""Single-object tables every case must have a row in (a missing child row would silently read as defaults)."""


def check_export(path: Path, mapping: Mapping, export: Export | None = None) -> dict[str, TableReader]:
    """Every table the mapping names, present with every column it reads (the readers use ``export`` if given).

    Raises:
        InputError: a file or sheet is missing, or lacks a column (the message names the nearest one).
    """
    if export is None:
        with open_export(path, mapping.encoding, mapping.delimiter) as own:
            return check_export(path, mapping, own)
    readers: dict[str, TableReader] = {}
    for table in mapping.ordered:
        reader = export.table(table.file, table.sheet, table.encoding, table.delimiter)
        if reader is None and mapping.allow_missing and table.name != RECORD:
            continue
        if reader is None:
            wanted = f'sheet "{table.sheet}"' if export.workbook else table.file
            have = ", ".join(export.names()) or "nothing"
            msg = (f"{path}: no {wanted} for the mapping's {table.name} table"
                   f"{suggest(table.sheet if export.workbook else table.file, export.names())}; it has: {have}")
            raise InputError(msg)
        if not reader.header():
            if table.name == RECORD or not mapping.allow_missing:
                msg = f"{reader.label} is empty: it needs at least a header row"
                raise InputError(msg)
            continue  # in a layout that may leave tables out, an empty file is a table with no rows
        _match_columns(reader, table, mapping.allow_missing)
        readers[table.name] = reader
        if table.via is not None:
            readers[f"{table.name}{_VIA}"] = _link_reader(path, export, table)
    if mapping.allow_missing:
        _refuse_unknown_tables(path, export, mapping, readers)
    return readers


def _match_columns(reader: TableReader, table: Table, strict_header: bool) -> None:
    """Check the header has the columns the table reads (ignoring case and spacing, which ``reader`` then renames);
    with ``strict_header`` (a layout that may leave columns out), a column it does not know is an error too."""
    header = reader.header()
    by_normal: dict[str, list[str]] = {}
    for name in header:
        by_normal.setdefault(normal_name(name), []).append(name)
    rename: dict[str, str] = {}
    needed = set(table.key_columns) | {h for c in table.columns if c.field.required for h in c.headers()}
    used = table.used_columns
    if header and not any(c in header or normal_name(c) in by_normal for c in used):
        msg = (f"{reader.label}: none of the columns the mapping's {table.name} table reads is in row 1: "
               "does the file start with its header row?")
        raise InputError(msg)
    for column in used:
        if column in header:
            continue
        near = by_normal.get(normal_name(column), [])
        if len(near) == 1:
            rename[near[0]] = column
        elif not strict_header or column in needed:
            msg = (f'{reader.label}: no column "{column}" (the mapping\'s {table.name} table reads it)'
                   f"{suggest(column, header)}; the columns are: {', '.join(header) or 'none'}")
            raise InputError(msg)
    if strict_header:
        known = set(used)
        for name in header:
            if rename.get(name, name) not in known and name:
                msg = (f'{reader.label}: column "{name}" is not a column of the {table.name} table'
                       f"{suggest(name, known)}; rename it, or remove it from the file")
                raise InputError(msg)
    reader.rename = rename or None


_VIA = "#via"
"""The key of a table's link table among the readers."""


def _link_reader(path: Path, export: Export, table: Table) -> TableReader:
    """The link table a table joins its cases through, present with the columns it needs."""
    assert table.via is not None
    link = export.table(table.via.file, table.via.sheet, table.encoding, table.delimiter)
    if link is None:
        wanted = f'sheet "{table.via.sheet}"' if export.workbook else table.via.file
        msg = (f"{path}: no {wanted} (the link table of the mapping's {table.name} table)"
               f"{suggest(table.via.file, export.names())}")
        raise InputError(msg)
    header = link.header()
    for column in [c for c, _ in table.via.on] + [c for _, c in table.join]:
        if column not in header:
            msg = (f'{link.label}: no column "{column}" (the link table of the mapping\'s {table.name} table reads it)'
                   f"{suggest(column, header)}; the columns are: {', '.join(header) or 'none'}")
            raise InputError(msg)
    return link


def _is_empty(export: Export, name: str) -> bool:
    reader = export.table(name, name)
    return reader is not None and not reader.header()


def _refuse_unknown_tables(path: Path, export: Export, mapping: Mapping, readers: dict[str, TableReader]) -> None:
    """In a layout that may leave tables out, a table it does not know is a misnamed one: refuse it, naming the nearest."""
    known = {(Path(r.label).name if not export.workbook else r.sheet) for r in readers.values()}
    expected = [t.sheet if export.workbook else t.file for t in mapping.ordered]
    for name in export.names():
        if name in known or not (export.workbook or name.lower().endswith(".csv")) or _is_empty(export, name):
            continue
        kind = "sheet" if export.workbook else "file"
        msg = (f"{path}: {kind} {name!r} is not a table of {mapping.name}{suggest(name, expected)}; "
               f"rename it, or move it out of the export")
        raise InputError(msg)


def export_files(path: Path, mapping: Mapping) -> list[Path]:
    """The files of an export a mapping reads, for a run's manifest."""
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return [path]
    with open_export(path) as export:
        tables = [(t.file, t.sheet) for t in mapping.ordered] + [(t.via.file, t.via.sheet) for t in mapping.ordered if t.via]
        found = (export.table(file, sheet) for file, sheet in tables)
        return sorted({reader.path for reader in found if reader is not None})


def _join_key(values: list[str]) -> str:
    """A row's join values as one text, unambiguous whatever the cells hold."""
    return orjson.dumps(values).decode()


_NUMBER_ID = re.compile(r"0*([0-9]+?)(?:\.0+)?")


def _loose_key(values: list[str]) -> str | None:
    """The join values with the leading zeros of all-digit values dropped (``0001`` and ``1`` alike, as Excel turns
    one into the other on save); None when no value is all digits, so no other key could be confused with it."""
    loose, changed = [], False
    for value in values:
        match = _NUMBER_ID.fullmatch(value)
        if match:
            changed = True
            loose.append(match[1])
        else:
            loose.append(value)
    return _join_key(loose) if changed else None


SHOWN = 3
"""How many rows and cases a note on a held-back column names before 'and N more'."""


@dataclass
class HeldDates:
    """A date column none of whose dates is read, because one of them can only be read the other way round
    (11/20/2015 in a dd/mm/yyyy column, so 11/06/2015 could be 6 November or 11 June), or because nothing vouches
    for its order (``because``): in the flat layout, a column whose every date has day and month both 12 or under
    (a spreadsheet that re-saved the file wrote them in its own date setting, which the file does not say), or a
    column of the same file as one that can only be read the other way round (the same save wrote both).

    Said once per file and column (``describe``), with how many rows and cases it held back and a fix that fits the
    layout read: the flat layout has no mapping to change, so its fix is to write the dates again; a mapping's is the
    column's own ``date_formats``. Each held-back case's rejection carries the short ``row_reason``.
    """

    file: str
    """The file or sheet, as the export's messages name it (``plans.csv``)."""
    column: str
    seen: str
    """The value that showed the order, as a message may show it (a personal field's never is)."""
    row: int
    order: str
    """The order the value can only be in: ``month-first (mm/dd/yyyy, as a US-locale tool writes dates)``."""
    fix: str
    rows: int = 0
    """Rows of the column, joined to a case, whose date was not read."""
    first_rows: list[int] = field(default_factory=list)
    cases: int = 0
    """Cases held back for it."""
    first_cases: list[str] = field(default_factory=list)
    because: str | None = None
    """Why the order is in doubt when no value of the column shows it is the other one (see _DateScan.finish):
    ``every date in it has the day and the month both 12 or under (row 2 holds "05/06/2015"), and ...``."""

    @property
    def _why(self) -> str:
        if self.because is not None:
            return self.because
        return f"row {self.row} holds {self.seen}, which can only be {self.order}"

    @property
    def row_reason(self) -> str:
        """The reason a held-back cell gives: the same for every row of the column."""
        return f"not read, like every date in this column: {self._why}, so each of its dates could be read either way round"

    def add_row(self, row: int) -> None:
        self.rows += 1
        if len(self.first_rows) < SHOWN:
            self.first_rows.append(row)

    def add_case(self, case_id: Any) -> None:
        self.cases += 1
        if len(self.first_cases) < SHOWN and case_id is not None:
            self.first_cases.append(str(case_id))

    def describe(self, case: Callable[[str], str] = str) -> str:
        """The note, once per file and column: what was seen, what was held back (the first few rows and cases, each
        case id through ``case``, which pseudonymises them in a shared run), and the fix."""
        rows = _some([str(r) for r in self.first_rows], self.rows)
        cases = _some([case(c) for c in self.first_cases], self.cases)
        held = (f"{self.rows:,} {'row' if self.rows == 1 else 'rows'} of {self.cases:,} "
                f"{'case' if self.cases == 1 else 'cases'} held back (rows {rows}; cases {cases}; every one is listed "
                "in rejected.jsonl)")
        if self.because is not None:
            return (f'{self.file} column "{self.column}": {self.because}, so none of its dates is read, as each '
                    f"could be read either way round: {held}. {self.fix}")
        return (f'{self.file} column "{self.column}" holds {self.seen} (row {self.row}), which can only be '
                f"{self.order}, so none of its dates is read, as each could be read either way round: {held}. "
                f"{self.fix}")

    def record(self, case: Callable[[str], str] = str) -> dict[str, Any]:
        """The note for run.json."""
        return {"file": self.file, "column": self.column, "row": self.row, "rows": self.rows, "cases": self.cases,
                "first_cases": [case(c) for c in self.first_cases], "note": self.describe(case)}


def _some(shown: list[str], total: int) -> str:
    """'2, 3, 4 and 56 more'."""
    more = total - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def _date_fix(table: Table, spec: Column, text: str, order: str, flat: bool) -> str:
    """How to put a column of dates in the other order right, for the layout read."""
    if flat:
        return ("To fix: the flat layout needs no mapping and reads dates as day/month/year (dd/mm/yyyy) or as ISO "
                "dates (yyyy-mm-dd) only, so save the file again with this column's dates written one of those ways "
                "(or export it again with a UK date setting).")
    match = re.fullmatch(r"[0-9]{1,2}([/.-])[0-9]{1,2}[/.-]([0-9]+)", without_time(text))
    sep, year = (match[1], "yyyy" if len(match[2]) == 4 else "yy") if match else ("/", "yyyy")
    wanted = f"mm{sep}dd{sep}{year}" if order.startswith("month") else f"dd{sep}mm{sep}{year}"
    current = " or ".join(label for _, label in spec.date_formats)
    return (f"To fix: if every date in the column is written that way, give the column its own date_formats in the "
            f'mapping (in the {table.name} table: {spec.field.path}: {{column: "{spec.column}", date_formats: '
            f"[{wanted}]}}); otherwise export the file again with the dates as {current}.")


def _unknown_order_fix() -> str:
    return ("To fix: give this column's dates the format yyyy-mm-dd (in Excel, a custom date format) and save the file "
            "again, or export the folder again with qa-engine export-csv.")


class _DateScan:
    """Watches a table's date columns as its rows are read, for a value that shows the column is not in the order the
    mapping reads (11/20/2015 in a dd/mm/yyyy column): then every date in that column is ambiguous, and is held back.

    Once every row is read (``finish``), a column with a date that reads differently either way round (05/06/2015)
    and none that shows the order is held back too when nothing vouches for its order: a column of the same file
    shows the other order (one save wrote both), or the file is in the flat layout, which qa_engine writes with ISO
    dates, so dates written with slashes come from a spreadsheet's re-save in a date setting the file does not say.
    A mapping of the user's own declares its export's order (date_formats), and is trusted unless the file shows
    otherwise; in the flat layout a column of the same file that shows the order read (20/11/2015) vouches for it."""

    def __init__(self, table: Table, label: str, flat: bool = False) -> None:
        self.table = table
        self.label = label
        self.flat = flat
        self.columns = [(c.column, date_order(c.date_formats), c) for c in table.columns
                        if c.column is not None and c.field.kind == "date"]
        self.held: dict[str, HeldDates] = {}
        self.shown: dict[str, dict[str, tuple[int, str]]] = {}
        """Column -> what its dates show of its order ("day", "month", "either") -> the first (row, value) to."""

    def see(self, cells: dict[str, str], number: int) -> None:
        for column, orders, spec in self.columns:
            if column in self.held:
                continue
            text = cells.get(column, "").strip(WHITESPACE)
            if not text:
                continue
            numbers = day_and_month(text)  # parsed once for both questions below
            order = order_clash(numbers, orders)
            if order is not None:
                self.held[column] = HeldDates(self.label, column, show(text, spec.field), number, order,
                                              _date_fix(self.table, spec, text, order, self.flat))
                continue
            shown = order_shown(numbers)
            if shown is not None:
                self.shown.setdefault(column, {}).setdefault(shown, (number, text))

    def finish(self) -> None:
        """Hold back the columns whose dates could each be read either way round and nothing vouches for the order
        of (see the class)."""
        proven = {column: orders for column, orders, _ in self.columns if column in self.held}
        for column, orders, spec in self.columns:
            shown = self.shown.get(column, {})
            if column in self.held or "either" not in shown or len(orders) != 1 or shown.keys() & {"day", "month"}:
                continue
            read = next(iter(orders))
            row, text = shown["either"]
            seen = show(text, spec.field)
            ambiguous = (f"every date in it has the day and the month both 12 or under (row {row} holds {seen})")
            other = next((c for c in proven if proven[c] == orders), None)
            if other is not None:
                note = self.held[other]
                because = (f'{ambiguous}, and column "{other}" of the same file holds {note.seen} (row {note.row}), '
                           f"which can only be {note.order}, so this column was most likely saved that way too")
                self.held[column] = HeldDates(self.label, column, seen, row, note.order,
                                              _date_fix(self.table, spec, text, note.order, self.flat), because=because)
                continue
            vouched = any(read in self.shown.get(c, {}) for c, _, _ in self.columns if c != column)
            if self.flat and not vouched:
                because = (f"{ambiguous}, and nothing in the file shows which comes first (qa_engine writes this "
                           "layout with yyyy-mm-dd dates, so these were written by a spreadsheet that saved the file "
                           "again, in a date setting the file does not say: a US-locale one writes month-first)")
                self.held[column] = HeldDates(self.label, column, seen, row, "day-first or month-first",
                                              _unknown_order_fix(), because=because)


class _Stage:
    """The non-record tables, in a private temporary SQLite database, indexed on their join keys."""

    def __init__(self, flat: bool = False) -> None:
        self.flat = flat
        """The export is read in qa_engine's flat layout (no mapping of the user's own to change)."""
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-8192")
        self.names: dict[str, str] = {}
        self.held: dict[str, dict[str, HeldDates]] = {}
        """Table -> column -> why its dates are not read (see _DateScan)."""
        self.filtered: dict[str, int] = {}
        """Rows left out by a table's row filters (where), by table."""
        self.nearly: dict[tuple[str, int], str] = {}
        """(table, row) -> the key of the case the row matches once leading zeros are ignored."""

    def load(self, table: Table, reader: TableReader, link: TableReader | None = None) -> None:
        name = f"t{len(self.names)}"
        self.names[table.name] = name
        self.db.execute(f"CREATE TABLE {name} (row INTEGER, k TEXT, nk TEXT, cells BLOB, problem TEXT, "
                        "used INTEGER DEFAULT 0)")
        columns = table.used_columns
        keys = table.key_columns
        links = self._load_link(name, table, link) if link is not None else None
        scan = _DateScan(table, reader.label, self.flat)

        def rows() -> Iterator[tuple[int, str | None, str | None, bytes, str | None]]:
            for number, cells, problem in reader.rows():
                if problem is None and not table.keeps(cells):
                    self.filtered[table.name] = self.filtered.get(table.name, 0) + 1
                    continue
                if problem is None:
                    scan.see(cells, number)
                values = [cells.get(c, "").strip(WHITESPACE) for c in keys]
                key = _join_key(values)
                data = orjson.dumps([cells.get(c, "") for c in columns])
                if links is None:
                    yield number, key, _loose_key(values), data, problem
                    continue
                linked = [k for (k,) in self.db.execute(f"SELECT DISTINCT k FROM {links} WHERE m = ? ORDER BY k", (key,))]
                for k in linked or [None]:  # None: linked to no case, reported as unmatched
                    yield number, k, k and _loose_key(orjson.loads(k)), data, problem

        self.db.execute("BEGIN")
        self.db.executemany(f"INSERT INTO {name} (row, k, nk, cells, problem) VALUES (?, ?, ?, ?, ?)", rows())
        self.db.execute("COMMIT")
        scan.finish()
        self.db.execute(f"CREATE INDEX {name}_k ON {name} (k)")
        self.db.execute(f"CREATE INDEX {name}_nk ON {name} (nk) WHERE nk IS NOT NULL")
        if scan.held:
            self.held[table.name] = scan.held

    def near(self, table: Table, key: tuple[str, ...]) -> tuple[int, str] | None:
        """A row whose key equals ``key`` once leading zeros are ignored, but not as written: (row, its key value). Every
        such row is remembered, so its report as an unmatched row can say which case it nearly matches."""
        if table.name not in self.names:
            return None
        loose = _loose_key(list(key))
        if loose is None:
            return None
        found = self.db.execute(f"SELECT row, k FROM {self.names[table.name]} WHERE nk = ? AND k != ? ORDER BY row",
                                (loose, _join_key(list(key)))).fetchall()
        for row, _ in found:
            self.nearly.setdefault((table.name, row), ", ".join(key))
        if not found:
            return None
        return found[0][0], ", ".join(orjson.loads(found[0][1]))

    def _load_link(self, name: str, table: Table, link: TableReader) -> str:
        """The link table, as (link value, join key) pairs indexed on the link value."""
        assert table.via is not None
        links = f"{name}_link"
        self.db.execute(f"CREATE TABLE {links} (m TEXT, k TEXT)")
        on = [column for column, _ in table.via.on]
        keys = [column for _, column in table.join]

        def pairs() -> Iterator[tuple[str, str]]:
            for number, cells, problem in link.rows():
                if problem is not None:  # a link that cannot be read would move rows between cases
                    msg = f"{link.label} row {number}: {problem}"
                    raise InputError(msg)
                yield (_join_key([cells.get(c, "").strip(WHITESPACE) for c in on]),
                       _join_key([cells.get(c, "").strip(WHITESPACE) for c in keys]))

        self.db.execute("BEGIN")
        self.db.executemany(f"INSERT INTO {links} VALUES (?, ?)", pairs())
        self.db.execute("COMMIT")
        self.db.execute(f"CREATE INDEX {links}_m ON {links} (m)")
        return links

    def take(self, table: Table, key: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str], str | None, bool]]:
        """The rows with this key, in row order, marked as claimed: (row, cells, problem, already claimed before).
        None for a table the export does not have. Lazy, so a caller can stop at a size limit."""
        if table.name not in self.names:
            return
        name = self.names[table.name]
        k = _join_key(list(key))
        columns = table.used_columns
        found = self.db.execute(f"SELECT row, cells, problem, used FROM {name} WHERE k = ? ORDER BY row", (k,))
        claimed = None
        try:
            for row, cells, problem, used in found:
                if claimed is None:
                    claimed = bool(used)  # rows sharing a key are claimed together, so the first row says for all
                yield row, dict(zip(columns, orjson.loads(cells), strict=True)), problem, claimed
        finally:  # also when the caller stops early (a size limit): the rows are claimed all the same
            found.close()
            if claimed is False:
                self.db.execute(f"UPDATE {name} SET used = 1 WHERE k = ?", (k,))

    def counts(self) -> dict[str, int]:
        """Rows staged, by table."""
        return {table: self.db.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for table, name in self.names.items()}

    def unclaimed(self, table: Table) -> Iterator[tuple[int, str]]:
        if table.name not in self.names:
            return
        name = self.names[table.name]
        yield from self.db.execute(f"SELECT row, min(k) FROM {name} GROUP BY row HAVING max(used) = 0 ORDER BY row")

    def close(self) -> None:
        self.db.close()


class _Builder:
    """One case record being assembled, with where each value came from and the cells that could not be read."""

    def __init__(self, columns_key: str, held: dict[str, dict[str, HeldDates]] | None = None) -> None:
        self.held = held or {}
        """Table -> column -> why the column is not read (its dates are ambiguous)."""
        self.held_back: list[HeldDates] = []
        """The held columns this case has a date in (once each)."""
        self.data: dict[str, Any] = {}
        self.locator = Locator({}, columns_key)
        self.problems: list[tuple[tuple[Any, ...], str]] = []
        self.size = 0
        """Characters read into this record, held to the record size limit."""
        self.unreadable_root = False
        """The case's own row could not be read (its cells are shifted)."""

    def fill(self, obj: dict[str, Any], base: tuple[Any, ...], table: Table, label: str, number: int,
             cells: dict[str, str], problem: str | None) -> None:
        self.locator.objects.setdefault(base, (label, number, table.name))
        self.size += sum(len(text) for text in cells.values())
        if problem:
            self.problems.append((base, problem))
            self.unreadable_root = self.unreadable_root or base == ()
            return  # its cells are shifted: reading them would misplace values (and could echo personal ones)
        held = self.held.get(table.name)
        for column, error in _read_into(obj, table.columns, cells, held):
            self.problems.append((base + column.parts, str(error)))
            note = held.get(column.column or "") if held else None
            if note is not None and str(error) == note.row_reason:
                note.add_row(number)
                if note not in self.held_back:
                    self.held_back.append(note)


def _read_into(obj: dict[str, Any], columns: Iterable[Column], cells: dict[str, str],
               held: dict[str, HeldDates] | None = None) -> Iterator[tuple[Column, CellError]]:
    """Read each column's cell into ``obj``; yield the columns whose cell could not be read, with why (a cell of a
    ``held`` column that is not empty cannot be read: the reason is the column's)."""
    for column in columns:
        if held and column.column in held and cells.get(column.column, "").strip(WHITESPACE):
            yield column, CellError(held[column.column].row_reason)
            continue
        try:
            value = column.read_row(cells)
        except CellError as exc:
            yield column, exc
            continue
        if value is not None:
            set_path(obj, column.parts, value)


def register_mapping(mapping: Mapping) -> str:
    """Index the mapping's columns by table and field path for Locator (in this process), and return its key."""
    columns = {t.name: {c.parts: c.column for c in t.columns if c.column is not None} for t in mapping.tables.values()}
    key = hashlib.sha256(orjson.dumps({t: [[list(p), c] for p, c in cols.items()] for t, cols in columns.items()},
                                      option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    COLUMN_INDEXES.setdefault(key, columns)
    return key


def _key(table: Table, record: dict[str, Any], item: dict[str, Any] | None) -> tuple[str, ...] | None:
    """The join key of ``table``'s rows for this case (or parent item); None if a join field has no value."""
    values = table.join_values(record, item)
    return None if any(v is None for v in values) else tuple(str(v) for v in values)


def _assemble(mapping: Mapping, columns_key: str, keys_of: dict[str, set[str]], stage: _Stage,
              readers: dict[str, TableReader], number: int, cells: dict[str, str], problem: str | None,
              limits: Limits, not_exported: list[str] | None = None,
              children: dict[str, dict[str, int]] | None = None) -> RawRecord:
    root_label = readers[RECORD].label
    b = _Builder(columns_key, stage.held)
    over = False
    b.fill(b.data, (), mapping.tables[RECORD], root_label, number, cells, problem)
    scope = _out_of_scope(mapping, b.data, cells)  # returned once its rows are claimed, so none is reported unmatched
    if not_exported:  # with any the record's own row says (a flat layout written from such an export)
        b.data["not_exported"] = sorted(set(not_exported) | set(b.data.get("not_exported") or []))
    if b.unreadable_root:  # no key can be trusted, so no other row is joined (they are reported as unmatched)
        return RawRecord(root_label, f"row {number}", b.data, locator=b.locator, problems=tuple(b.problems),
                         unreadable_root=True)
    for table in mapping.ordered[1:]:
        if table.name not in readers:
            continue
        label = readers[table.name].label
        target = table.target
        on = " and ".join(f'"{column}"' for _, column in table.join)
        shared = _shared_child(table, b.data, children or {})
        if shared:
            key = _key(table, b.data, None)
            for _ in stage.take(table, key) if key else ():  # claimed, so not reported again as joining no case
                pass
            b.problems.append(((), f"{label} joins its rows on the child's id (column {on}), and this child has "
                                   f"{shared} orders in {Path(root_label).name}, so which order each row belongs to "
                                   "cannot be told: the case is not judged with another order's rows. Join the table "
                                   "on the order (through its link table, with via)"))
            continue
        if not target.many:
            key = _key(table, b.data, None)
            rows = list(itertools.islice(stage.take(table, key), 2)) if key else []
            if rows and rows[0][3] and table.name != "child":  # one child's row serves each of their orders
                b.problems.append(((), f"{label} row {rows[0][0]} joins this case and also an earlier case (on column "
                                       f"{on}); a row belongs to one case"))
            elif len(rows) > 1:
                b.problems.append(((), f"{label} rows {rows[0][0]} and {rows[1][0]} both join this case (on column "
                                       f"{on}); keep one row per case"))
            elif not rows and table.name in REQUIRED_SINGLE:
                b.problems.append(((), f"{label} has no row for this case (joined on column {on})"))
            if key:
                _near(b, stage, table, label, key)
            if rows:
                row, row_cells, row_problem, _ = rows[0]
                b.fill(b.data.setdefault(table.name, {}), (table.name,), table, label, row, row_cells, row_problem)
            continue
        if target.parent is None:
            path = tuple(target.name.split("."))
            parents: list[tuple[tuple[Any, ...], dict[str, Any] | None, dict[str, Any]]] = [((), None, b.data)]
            sub = target.name
        else:
            path_parent = tuple(target.parent.split("."))
            items = get_path(b.data, target.parent) or []
            parents = [((*path_parent, i), item, item) for i, item in enumerate(items)]
            path = (target.name[len(target.parent) + 1:],)
            sub = path[0]
        seen: set[tuple[str, ...]] = set()
        for base, item, holder in parents:
            key = _key(table, b.data, item)
            if key is None:
                continue
            _near(b, stage, table, label, key, base)
            made = []
            already = len(get_path(holder, sub) or [])  # items an earlier table fed into the same part
            index = already - 1
            for row, row_cells, row_problem, claimed in stage.take(table, key):
                if key in seen or (claimed and table.via is None):  # a linked row may serve several cases
                    owner = f"another {target.parent} item of this case" if key in seen else "an earlier case"
                    b.problems.append((base, f"{label} row {row} joins this case and also {owner} (on column {on}); "
                                             "a row belongs to one case: join on the case's own key"))
                    break
                if over:  # keep only what nested tables join on, so their rows are claimed too
                    if table.name in keys_of:
                        made.append(_keys_only(table, keys_of[table.name], row_cells))
                    continue
                if row_problem is None and _no_item(table, row_cells):  # an order with no requirement: no item
                    continue
                index += 1
                obj: dict[str, Any] = {}
                b.fill(obj, base + path + (index,), table, label, row, row_cells, row_problem)
                made.append(obj)
                over = b.size > limits.max_record_bytes
            seen.add(key)
            if made:
                set_path(holder, tuple(sub.split(".")), (get_path(holder, sub) or []) + made)
    for note in b.held_back:
        note.add_case(b.data.get("case_id"))
    if scope is not None:
        return scope(root_label, number)
    if over or b.size > limits.max_record_bytes:
        return _too_big(root_label, number, b, limits)
    return RawRecord(root_label, f"row {number}", b.data, locator=b.locator, problems=tuple(b.problems),
                     unreadable_root=b.unreadable_root)


def _near(b: _Builder, stage: _Stage, table: Table, label: str, key: tuple[str, ...], base: tuple[Any, ...] = ()) -> None:
    """Hold the case back when a row of ``table`` has its key once leading zeros are ignored (``1`` for ``0001``): the
    row is very likely the case's own, from a file re-saved in Excel, and judging the case without it would be wrong."""
    found = stage.near(table, key)
    if found is not None:
        row, theirs = found
        ours = ", ".join(key)
        b.problems.append((base, f"`{theirs}` in {label} row {row} matches this case's `{ours}` once leading zeros are "
                                 "ignored: was the file re-saved in Excel? The case is not judged without that row: "
                                 "re-export the file with its id column as text"))


def _shared_child(table: Table, data: dict[str, Any], children: dict[str, dict[str, int]]) -> int:
    """How many cases share the child this table's rows join on, when it joins on the child only and more than one
    does (its rows could belong to any of the child's orders); else 0. The child's own table is shared by design."""
    if table.name == "child" or table.target.parent is not None:
        return 0
    fields = [name for name, _ in table.join]
    if not fields or not all(name.startswith("child.") for name in fields):
        return 0
    found = [children.get(name, {}).get(str(get_path(data, name)), 0) for name in fields]
    return max(found) if min(found) > 1 else 0


def _no_item(table: Table, cells: dict[str, str]) -> bool:
    """A list table's row whose every cell but its join and filter columns is empty holds no item (see
    Table.item_columns)."""
    return not any(cells.get(h, "").strip(WHITESPACE) for h in table.item_columns)


def _out_of_scope(mapping: Mapping, data: dict[str, Any], cells: dict[str, str]) -> Any:
    """For a case whose order type the mapping marks out of scope: a maker of its record (never judged); else None."""
    if get_path(data, "order.order_type") != OUT_OF_SCOPE:
        return None
    column = next((c.column for c in mapping.tables[RECORD].columns if c.field.path == "order.order_type"), None)
    code = cells.get(column or "", "").strip(WHITESPACE) or OUT_OF_SCOPE

    def make(label: str, number: int) -> RawRecord:
        reason = (f"disposal {code} is outside the rule pack's scope (court orders under supervision), as the mapping "
                  "says: recorded and counted, not judged")
        return RawRecord(label, f"row {number}", {"case_id": data.get("case_id")}, error=reason, out_of_scope=code)

    return make


def _nested_keys(mapping: Mapping) -> dict[str, set[str]]:
    """For each table other tables nest in, the fields of its items they join on (plans -> {plan_id})."""
    keys: dict[str, set[str]] = {}
    for table in mapping.tables.values():
        parent = table.target.parent
        if parent:
            keys.setdefault(parent, set()).update(f[len(parent) + 1:] for f, _ in table.join if f.startswith(parent + "."))
    return keys


def _keys_only(table: Table, fields: set[str], cells: dict[str, str]) -> dict[str, Any]:
    """An item with only the fields nested rows join on (for a case over the size limit, whose rows are only claimed)."""
    item: dict[str, Any] = {}
    for _unreadable in _read_into(item, (c for c in table.columns if c.field.path in fields), cells):
        pass  # a key that cannot be read joins nothing
    return item


def _too_big(root_label: str, number: int, b: _Builder, limits: Limits) -> RawRecord:
    return RawRecord(root_label, f"row {number}", {"case_id": b.data.get("case_id")}, error=(
        f"the case's rows hold over {limits.max_record_bytes:,} characters, the limit for one case (see "
        "--max-record-bytes): a case file is a few kilobytes; check the columns that join the tables"))


def _unmatched(table: Table, label: str, root_label: str, row: int, key: str | None, nearly: str | None = None) -> RawRecord:
    if nearly is not None and key is not None:
        theirs = ", ".join(orjson.loads(key))
        reason = (f"`{theirs}` matches case `{nearly}` once leading zeros are ignored (was the file re-saved in Excel?), "
                  "so the row was not audited and that case was held back: re-export the file with its id column as "
                  "text")
        return RawRecord(label, f"row {row}", error=reason, unmatched=True)
    if key is None:
        assert table.via is not None
        columns = " and ".join(f'"{column}"' for _, column in table.via.on)
        reason = f"no row of the link table {table.via.file} links it (on column {columns}); the row was not audited"
        return RawRecord(label, f"row {row}", error=reason, unmatched=True)
    parts = orjson.loads(key)
    empty = [column for (_, column), part in zip(table.join, parts, strict=True) if not part]
    formulas = [(column, formula_text(part)) for (_, column), part in zip(table.join, parts, strict=True)
                if formula_text(part) is not None]
    if formulas:
        column, formula = formulas[0]
        reason = (f'column "{column}" holds a formula never calculated ({formula}), so the row joins no case; it was '
                  "not audited: open and save the file in Excel, then run again")
    elif empty:
        reason = f'column "{empty[0]}" is empty, so the row joins no case; it was not audited'
    else:
        columns = " and ".join(f'"{column}"' for _, column in table.join)
        owner = f"{table.target.parent} item" if table.target.parent else f"case in {Path(root_label).name}"
        reason = f"no {owner} has the value of column {columns}; the row was not audited"
    return RawRecord(label, f"row {row}", error=reason, unmatched=True)


def read_export(path: Path, mapping: Mapping, limits: Limits = DEFAULT_LIMITS,
                notes: list[HeldDates] | None = None) -> Iterator[RawRecord]:
    """Every case record of an export (one per row of its record table, in order), then every unmatched row.

    Once every record is read, each date column held back (see HeldDates) is logged once and added to ``notes``.

    Raises:
        InputError: a table or column the mapping names is missing (before any record is yielded).
    """
    columns_key = register_mapping(mapping)
    keys_of = _nested_keys(mapping)
    export = open_export(path, mapping.encoding, mapping.delimiter)
    flat = mapping.path is not None and mapping.path.resolve() == FLAT_MAPPING.resolve()
    stage = _Stage(flat)
    try:
        readers = check_export(path, mapping, export)
        for table in mapping.ordered[1:]:
            if table.name in readers:
                stage.load(table, readers[table.name], readers.get(f"{table.name}{_VIA}"))
        log.info("export.tables", export=str(path), mapping=mapping.name, rows=stage.counts(), filtered=stage.filtered,
                 missing=[t.name for t in mapping.ordered if t.name not in readers])
        scan = _DateScan(mapping.tables[RECORD], readers[RECORD].label, flat)
        child_columns = {c.field.path: c for c in mapping.tables[RECORD].columns if c.column is not None
                         and any(c.field.path == name for t in mapping.ordered for name, _ in t.join
                                 if name.startswith("child."))}
        children: dict[str, dict[str, int]] = {name: {} for name in child_columns}
        if scan.columns or child_columns:  # a first pass over the case table: ambiguous date columns, and how many
            for row, cells, problem in readers[RECORD].rows():  # orders each child has
                if problem is None and mapping.tables[RECORD].keeps(cells):
                    scan.see(cells, row)
                    for name, column in child_columns.items():
                        value = cells.get(column.column or "", "").strip(WHITESPACE)
                        children[name][value] = children[name].get(value, 0) + 1
            scan.finish()
            if scan.held:
                stage.held[RECORD] = scan.held
        unknown = _not_exported(export, mapping)
        record = mapping.tables[RECORD]
        for number, cells, problem in readers[RECORD].rows():
            if record.where and problem is None and not record.keeps(cells):
                stage.filtered[RECORD] = stage.filtered.get(RECORD, 0) + 1
                continue
            yield _assemble(mapping, columns_key, keys_of, stage, readers, number, cells, problem, limits, unknown,
                            children)
        for table in mapping.ordered[1:]:
            if table.name not in readers:
                continue
            for row, key in stage.unclaimed(table):
                yield _unmatched(table, readers[table.name].label, readers[RECORD].label, row, key,
                                 stage.nearly.get((table.name, row)))
        for columns in stage.held.values():
            for note in columns.values():
                log.warning("export.dates_held_back", file=note.file, column=note.column, rows=note.rows,
                            cases=note.cases)
                if notes is not None:
                    notes.append(note)
    finally:
        stage.close()
        export.close()


def _not_exported(export: Export, mapping: Mapping) -> list[str]:
    """The optional parts of a record this export does not hold: those its mapping reads no table for, and (in a layout
    that may leave tables out) those whose file or sheet is absent. An empty table is held, with no rows."""
    absent = set(mapping.not_exported)
    if mapping.allow_missing:
        absent |= {t.name for t in mapping.ordered if export.table(t.file, t.sheet) is None}
    if mapping.allow_missing:  # a held part whose file lacks the column of a field
        for table in mapping.ordered:
            reader = export.table(table.file, table.sheet)
            header = {normal_name(h) for h in reader.header()} if reader is not None else set()
            if reader is None or not header:
                continue
            for column in table.columns:
                name = f"{table.target.name}.{column.field.path}" if table.target.name != RECORD else column.field.path
                if name in OPTIONAL_FIELDS and column.column and normal_name(column.column) not in header:
                    absent.add(name)
    return sorted(p for p in absent if p in OPTIONAL_PARTS or p in OPTIONAL_FIELDS)


def not_exported(path: Path, mapping: Mapping) -> list[str]:
    """The optional parts of a record the export at ``path`` does not hold, read through ``mapping`` (see
    records.model.OPTIONAL_PARTS): unknown for every case of it."""
    with open_export(path, mapping.encoding, mapping.delimiter) as export:
        return _not_exported(export, mapping)


def is_export(path: Path) -> bool:
    """Whether ``path`` is read through a mapping (a folder of tables or a workbook) rather than as JSON."""
    return path.is_dir() or path.suffix.lower() in WORKBOOK_SUFFIXES

