"""Reading the tables of an export: CSV files in a folder (any council encoding, comma or semicolon) or workbook sheets.

Rows are streamed, never held whole: a CSV file is read through a text decoder a buffer at a
time, a workbook through openpyxl's read-only mode. Row numbers are the ones a spreadsheet shows
(the header is row 1), so a message can send the user straight to the cell.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from qa_engine.base.errors import InputError

__all__ = ["FORMULA", "Export", "TableReader", "formula_text", "kind_hint", "normal_name", "open_export"]

_SAMPLE = 64 * 1024
_DELIMITERS = ",;\t|"
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_FIELD_LIMIT = 1_000_000
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")

MAX_COLUMNS = 2_000
"""A table (CSV file or sheet) has at most this many columns, and a sheet's row at most this many cells: an export's
widest table has a few hundred. Checked before a row is split into cells (see MAX_LINE_CHARS) or as a sheet's row is
read, so a header of ten million columns stops the run at once instead of filling memory."""
MAX_LINE_CHARS = 2_000_000
"""A line of a CSV file is at most this many characters (a quoted cell's line breaks start new lines): read no further
than this before it is refused."""
MAX_SHARED_STRINGS_BYTES = 100_000_000
"""A workbook's shared-strings table (which openpyxl reads whole, even in read-only mode) is at most this many bytes
uncompressed, checked in the zip's directory before the workbook is opened."""


def detect_encoding(path: Path) -> str:
    """A byte-order mark's encoding; else UTF-8 if the whole file is valid UTF-8; else Windows-1252.

    Windows-1252 is what Excel on a UK council desktop writes for "CSV" (not "CSV UTF-8"); Latin-1
    covers its five undefined bytes.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        for bom, name in _BOMS:
            if head.startswith(bom):
                return name
        handle.seek(0)
        start = handle.read(4096)
        if start.count(b"\0") > len(start) // 4:  # UTF-16 without a byte-order mark: every other byte is 0 in text
            return "utf-16-le" if start[1::2].count(b"\0") > start[0::2].count(b"\0") else "utf-16-be"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            handle.seek(0)
            try:
                while chunk := handle.read(1 << 20):
                    chunk.decode("cp1252")
            except UnicodeDecodeError:
                return "latin-1"
            return "cp1252"
    return "utf-8"


def _delimiter(sample: str) -> str:
    """The delimiter that splits the header line into the most columns (quotes respected); comma if none does."""
    header = sample.splitlines()[0] if sample else ""
    best, most = ",", 1
    for candidate in _DELIMITERS:
        fields = len(next(csv.reader([header], delimiter=candidate), []))
        if fields > most:
            best, most = candidate, fields
    return best


def normal_name(name: str) -> str:
    """A column, file or sheet name compared ignoring case, spacing, hyphens and underscores."""
    return re.sub(r"[\s_-]+", " ", name).strip().casefold()


_OOXML_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")


def ooxml_unescape(text: str) -> str:
    """Text as Excel meant it: a workbook stores a carriage return as ``_x000D_`` (and a literal ``_x000D_`` as
    ``_x005F_x000D_``), which openpyxl leaves as it is."""
    return _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


FORMULA = "\x00"
"""The first character of a cell read as a formula that was never calculated (``FORMULA + "=WORKDAY(F2,15)"``).

A workbook cannot hold U+0000 in text (XML forbids it), so the mark cannot be confused with a cell's own text; a
reader that meets it says what it is instead of reading the cell as empty."""


def formula_text(cell: str) -> str | None:
    """The formula of a cell read as never calculated (``=WORKDAY(F2,15)``), or None for any other cell."""
    if not cell.startswith(FORMULA):
        return None
    return cell[len(FORMULA):] or "a shared formula"


class _Uncalculated(str):
    """A formula cell with no calculated value saved (see FORMULA)."""


def _uncalculated(value: Any, data_type: str) -> bool:
    """Whether a formula's saved value is no value: none at all, or the 0 some writers save as a placeholder,
    which a date-formatted cell shows as 00:00 or 30/12/1899 (never a date a case could hold)."""
    if value is None or value == "":
        return True
    if data_type == "d":
        return value in (dt.time(0, 0), dt.datetime(1899, 12, 30), dt.datetime(1899, 12, 31))
    return False


class _RowTooWide(Exception):
    """A sheet's row has more than MAX_COLUMNS cells."""

    def __init__(self, row: int) -> None:
        super().__init__(row)
        self.row = row


def _formula_parser() -> type:
    """openpyxl's sheet parser, reading cached values (as ``data_only``) but marking a formula whose value was never
    calculated, so a script-written formula column is never read as empty cells."""
    from openpyxl.worksheet._reader import CELL_TAG, FORMULA_TAG, ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    class Parser(WorkSheetParser):
        def parse(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
            """Each row's cells, as openpyxl's parser gives them (the sheet's other parts are not needed), stopping at
            a row of over MAX_COLUMNS cells before it is held whole."""
            cells = 0
            for _, element in iterparse(self.source):
                if element.tag == CELL_TAG:
                    cells += 1
                    if cells > MAX_COLUMNS:
                        raise _RowTooWide(self.row_counter + 1)
                elif element.tag == ROW_TAG:
                    row = self.parse_row(element)
                    element.clear()
                    cells = 0
                    yield row

        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell = super().parse_cell(element)
            formula = element.find(FORMULA_TAG)
            if formula is not None and _uncalculated(cell["value"], cell["data_type"]):
                text = formula.text or ""
                cell["value"] = _Uncalculated("=" + text if text else "")
            return cell

    return Parser


def _cell(value: Any) -> str:
    """A workbook cell as the text a CSV export of it would hold (dates as yyyy-mm-dd)."""
    if value is None:
        return ""
    if isinstance(value, _Uncalculated):
        return FORMULA + value
    if isinstance(value, str):
        return ooxml_unescape(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class TableReader:
    """One table: its label for messages (``contacts.csv``, ``export.xlsx sheet "Contacts"``), header and rows."""

    label: str
    path: Path
    sheet: str | None = None
    encoding: str = "auto"
    delimiter: str = "auto"
    export: Export | None = None
    """For a sheet: the export holding the open workbook."""
    rename: dict[str, str] | None = None
    """Header as written -> the name the mapping uses for it, where they differ only in case or spacing."""
    _header: list[str] | None = field(default=None, init=False, repr=False)

    @cached_property
    def _format(self) -> tuple[str, str]:
        """(encoding, delimiter) of a CSV file: as the mapping says, or detected once (detection reads the file)."""
        encoding = detect_encoding(self.path) if self.encoding == "auto" else self.encoding
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            msg = f"{self.label}: unknown encoding {encoding!r} in the mapping"
            raise InputError(msg) from exc
        delimiter = self.delimiter
        if delimiter == "auto":
            with self.path.open(encoding=encoding, newline="", errors="replace") as handle:
                delimiter = _delimiter(handle.read(_SAMPLE))
        return encoding, delimiter

    def header(self) -> list[str]:
        """The column names in row 1, stripped ([] for an empty file); read once."""
        if self._header is None:
            self._header = self._read_header()
        return self._header

    def _read_header(self) -> list[str]:
        """The column names in row 1, stripped ([] for an empty file).

        Raises:
            InputError: row 1 is blank but later rows are not (the header must be the first row).
        """
        rows = self._rows()
        for _, cells in rows:
            header = [c.strip().lstrip("\ufeff") for c in cells]
            if not any(header):
                for number, later in rows:
                    if any(c.strip() for c in later):
                        msg = f"{self.label}: row 1 is blank but row {number} is not: the header must be the first row"
                        raise InputError(msg)
                return []
            self._check_header(header)
            return header
        return []

    def rows(self) -> Iterator[tuple[int, dict[str, str], str | None]]:
        """(row number, cells by column name, problem or None) for every non-blank row after the header.

        A row with a different number of cells from the header has a problem: its cells are shifted, so
        none of them is read (a delimiter inside an unquoted value, or a line cut short).
        """
        rows = self._rows()
        header: list[str] | None = None
        for number, cells in rows:
            if header is None:
                header = [c.strip().lstrip("\ufeff") for c in cells]
                self._check_header(header)
                if self.rename:
                    header = [self.rename.get(h, h) for h in header]
                continue
            if not any(c.strip() for c in cells):
                continue
            problem = None
            if self.sheet is not None:  # a sheet row is as wide as the sheet: only a value past the header counts
                extra = next((i for i, c in enumerate(cells) if i >= len(header) and c.strip()), None)
                if extra is not None:
                    problem = f"row has a value in column {extra + 1}, which has no header"
            elif len(cells) < len(header):
                cells = cells + [""] * (len(header) - len(cells))  # Excel drops the delimiters of empty trailing cells
            elif len(cells) != len(header):
                problem = (f"row has {len(cells)} cells but the header has {len(header)} columns, so its values "
                           "cannot be told apart (a delimiter inside a value that is not quoted, or a line cut short?)")
            yield number, dict(zip(header, cells, strict=False)), problem

    def _check_header(self, header: list[str]) -> None:
        if len(header) > MAX_COLUMNS:
            msg = f"{self.label}: the header row has {len(header):,} columns, over the {MAX_COLUMNS:,} a table may have"
            raise InputError(msg)
        seen: set[str] = set()
        for name in header:
            if name and name in seen:
                msg = f'{self.label}: column "{name}" appears twice in the header row'
                raise InputError(msg)
            seen.add(name)

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        if self.sheet is not None:
            yield from self._sheet_rows()
        else:
            yield from self._csv_rows()

    def _csv_rows(self) -> Iterator[tuple[int, list[str]]]:
        try:
            yield from self._csv_rows_unguarded()
        except OSError as exc:
            msg = f"cannot read {self.label}: {exc.strerror or exc}"
            raise InputError(msg) from exc

    def _csv_rows_unguarded(self) -> Iterator[tuple[int, list[str]]]:
        encoding, delimiter = self._format
        number = 0
        old = csv.field_size_limit(_FIELD_LIMIT)
        try:
            with self.path.open(encoding=encoding, newline="") as handle:
                lines = self._bounded(handle)
                for number, cells in enumerate(csv.reader(lines, delimiter=delimiter, strict=True), start=1):
                    if len(cells) > MAX_COLUMNS:
                        msg = f"{self.label} row {number}: {len(cells):,} cells, over the {MAX_COLUMNS:,} a row may have"
                        raise InputError(msg)
                    yield number, cells
        except csv.Error as exc:
            hint = ("a quote that is never closed" if "end of data" in str(exc) else
                    "a cell of over a million characters: a quote that is never closed" if "field limit" in str(exc)
                    else "a stray quote inside a value")
            msg = f"{self.label} row {number + 1}: cannot be read as CSV ({exc}): {hint}?"
            raise InputError(msg) from exc
        except UnicodeDecodeError as exc:
            msg = f"{self.label}: not {encoding} text after row {number}; set 'encoding' in the mapping"
            raise InputError(msg) from exc
        finally:
            csv.field_size_limit(old)

    def _bounded(self, handle: Any) -> Iterator[str]:
        """The file's lines, none read past MAX_LINE_CHARS (a longer one stops the run, naming it)."""
        number = 0
        while line := handle.readline(MAX_LINE_CHARS + 1):
            number += 1
            if len(line) > MAX_LINE_CHARS:
                msg = (f"{self.label} line {number}: longer than {MAX_LINE_CHARS:,} characters, the most a line may be "
                       "(is this a CSV file?)")
                raise InputError(msg)
            yield line

    def _sheet_rows(self) -> Iterator[tuple[int, list[str]]]:
        sheet = (self.export or Export(self.path)).book()[self.sheet]
        number = 0
        try:
            for number, values in _parse_sheet(sheet):
                yield number, [_cell(v) for v in values]
        except _RowTooWide as exc:
            msg = f"{self.label} row {exc.row}: over {MAX_COLUMNS:,} cells, the most a row may have"
            raise InputError(msg) from None
        except (ValueError, TypeError, KeyError, OSError) as exc:  # openpyxl's errors for a damaged sheet
            # openpyxl's message quotes the cell's text, which may be a name or a note: never shown
            msg = (f"{self.label} row {number + 1}: a cell cannot be read ({type(exc).__name__}): the sheet is damaged "
                   "or a cell's stored type does not match its content; open and save it in Excel, or export it again")
            raise InputError(msg) from exc


def _parse_sheet(sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    """Every row of a read-only sheet as (row number, values), numbered as the sheet shows them, blank rows included.

    The sheet's recorded size is not trusted (every row and column there is is read), and a formula that was never
    calculated is marked (see FORMULA) rather than read as empty.
    """
    book = sheet.parent
    with sheet._get_source() as source:  # openpyxl's own read-only path, with a parser that also sees formulas
        parser = _formula_parser()(source, sheet._shared_strings, data_only=True, epoch=book.epoch,
                                   date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        expected = 1
        for number, cells in parser.parse():
            while expected < number:
                yield expected, []
                expected += 1
            values: list[Any] = [None] * max((c["column"] for c in cells), default=0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield number, values
            expected = number + 1


def _check_shared_strings(path: Path) -> None:
    """Refuse a workbook whose shared-strings table is over MAX_SHARED_STRINGS_BYTES uncompressed (openpyxl would read
    it whole): read from the zip's directory, before anything is decompressed."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as book:
            sizes = [i.file_size for i in book.infolist() if i.filename.lower().endswith("sharedstrings.xml")]
    except (OSError, zipfile.BadZipFile):
        return  # openpyxl names the problem when it opens the file
    if sizes and max(sizes) > MAX_SHARED_STRINGS_BYTES:
        msg = (f"{path}: its shared-strings table is {max(sizes):,} bytes uncompressed, over the "
               f"{MAX_SHARED_STRINGS_BYTES:,} a workbook may hold; save the sheets as CSV files instead")
        raise InputError(msg)


class Export:
    """A folder of CSV files, or a workbook: the tables a mapping reads from."""

    def __init__(self, path: Path, encoding: str = "auto", delimiter: str = "auto") -> None:
        self.path = path
        self.workbook = path.suffix.lower() in WORKBOOK_SUFFIXES
        self._encoding = encoding
        self._delimiter = delimiter
        self._book: Any = None

    def book(self) -> Any:
        """The workbook, opened once in read-only mode, in bounded memory: the shared-strings table is checked for size
        first, and no sheet is measured (openpyxl would read a sheet that does not record its size whole)."""
        if self._book is None:
            from openpyxl import load_workbook
            from openpyxl.worksheet._read_only import ReadOnlyWorksheet

            _check_shared_strings(self.path)
            measure = ReadOnlyWorksheet._get_size
            # openpyxl measures each sheet on opening, reading a sheet that does not record its size whole (its rows
            # held in memory) to find it; sheets are read here without trusting a size (see _parse_sheet), so skip it
            ReadOnlyWorksheet._get_size = lambda sheet: None
            try:
                self._book = load_workbook(self.path, read_only=True, data_only=True)
            except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors for a bad file
                msg = f"{self.path}: cannot be read as an .xlsx workbook ({type(exc).__name__}: {exc})"
                raise InputError(msg) from exc
            finally:
                ReadOnlyWorksheet._get_size = measure
        return self._book

    def close(self) -> None:
        """Close the workbook, if one was opened."""
        if self._book is not None:
            self._book.close()
            self._book = None

    def __enter__(self) -> Export:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> list[str]:
        """The tables present: sheet names of a workbook, or the .csv files of a folder."""
        if self.workbook:
            return [sheet.title for sheet in self.book().worksheets]  # not chart sheets
        return sorted(p.name for p in self.path.iterdir() if p.suffix.lower() in (".csv", ".txt") and p.is_file())

    def table(self, file: str, sheet: str, encoding: str | None = None, delimiter: str | None = None) -> TableReader | None:
        """The table a mapping names by file (in a folder) or sheet (in a workbook), or None if absent; ``encoding``
        and ``delimiter`` override the export's for this file."""
        if self.workbook:
            found = self._find(sheet)
            if found is None:
                return None
            return TableReader(f'{self.path.name} sheet "{found}"', self.path, sheet=found, export=self)
        name = self._find(file)
        if name is None:
            return None
        path = self.path / name
        return TableReader(str(path), path, encoding=encoding or self._encoding, delimiter=delimiter or self._delimiter)

    def _find(self, wanted: str) -> str | None:
        """The table named ``wanted``: exactly, else ignoring case and spacing (Contacts.csv for contacts.csv)."""
        names = self.names()
        if wanted in names:
            return wanted
        matches = [n for n in names if normal_name(n) == normal_name(wanted)]
        return matches[0] if len(matches) == 1 else None

    def files(self) -> list[Path]:
        """The files a run's manifest should hash."""
        return [self.path] if self.workbook else [self.path / n for n in self.names()]


def open_export(path: Path, encoding: str = "auto", delimiter: str = "auto") -> Export:
    """The export at ``path`` (a folder or an .xlsx file)."""
    if not path.exists():
        msg = f"cannot read {path}: no such file or folder"
        raise InputError(msg)
    if not path.is_dir() and path.suffix.lower() not in WORKBOOK_SUFFIXES:
        msg = f"{path} is not a folder of CSV files or an .xlsx workbook: {kind_hint(path)}"
        raise InputError(msg)
    return Export(path, encoding, delimiter)


def kind_hint(path: Path) -> str:
    """What to give instead of a file that is not an export of tables."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "give the folder that holds the export's CSV files (with --mapping, unless it is in the flat layout)"
    if suffix in (".xls", ".ods"):
        return "save it as an .xlsx workbook (Excel: File > Save As > Excel Workbook), or as CSV files in a folder"
    return "give a folder of CSV files or an .xlsx workbook"
