"""Mapping files: which table of an export fills which part of a case record, and how each cell becomes a value.

A mapping is YAML checked against schemas/mapping.schema.json and then against the case record
itself (every field, code and join it names must exist), so a mistake is found when the mapping is
loaded, naming the table and the field, not halfway through a batch.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from qa_engine.base.errors import MappingError
from qa_engine.base.resources import load_schema, mappings_dir
from qa_engine.base.yamlfile import TextKeyLoader, load_yaml, suggest
from qa_engine.exports.tables import formula_text, normal_name
from qa_engine.records.layout import RECORD, FieldSpec, Target, get_path, targets
from qa_engine.records.model import OPTIONAL_FIELDS, OPTIONAL_PARTS

__all__ = [
    "DEFAULT_MAPPINGS_DIR", "FLAT_MAPPING", "OUT_OF_SCOPE",
    "CellError", "Column", "Link", "Mapping", "Table", "flat_mapping", "load_mapping",
    "shipped_mappings",
]

DEFAULT_MAPPINGS_DIR = mappings_dir()
"""The shipped mappings (packaged with qa_engine; in the repository, the top-level mappings/ folder)."""
FLAT_MAPPING = DEFAULT_MAPPINGS_DIR / "flat.yaml"
"""The mapping of qa_engine's own flat CSV layout (what `qa-engine export-csv` writes)."""


def shipped_mappings() -> dict[str, Path]:
    """The mappings shipped with qa_engine, by name: ``flat`` and each worked example (``cld-like``)."""
    found = {path.stem: path for path in sorted(DEFAULT_MAPPINGS_DIR.glob("examples/*.yaml"))}
    return {"flat": FLAT_MAPPING, **found}


@cache
def flat_mapping() -> Mapping:
    """The flat layout's mapping, loaded and checked once per process."""
    return load_mapping(FLAT_MAPPING)

DEFAULT_DATE_FORMATS = ("dd/mm/yyyy",)
TODO = "TODO"
"""What `qa-engine mapping init` writes where a person must decide; a mapping that still holds one does not load."""
_TRUE = frozenset({"y", "yes", "true", "t", "1"})
_FALSE = frozenset({"n", "no", "false", "f", "0"})
YES_NO_WORDS = _TRUE | _FALSE
"""What a yes/no field reads without a values map (compared ignoring case)."""
_TOKENS = re.compile(r"[hH]{1,2}:mm(:ss)?|yyyy|yy|mmmm|mmm|mm|m|dd|d")
_STRPTIME = {"yyyy": "%Y", "yy": "%y", "mmmm": "%B", "mmm": "%b", "mm": "%m", "m": "%m", "dd": "%d", "d": "%d"}
_TRAILING_TIME = re.compile(r"(?:[ T]+)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?$")
_INTEGER = re.compile(r"[+-]?\d+(?:\.0*)?")
_SHOWN = 60
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"
"""What a cell is trimmed of: Unicode White_Space, as the record model trims text (str.strip would also drop \\x1c-\\x1f)."""


def without_time(text: str) -> str:
    """A date cell without a time after it (``15/02/2016 00:00``, ``2016-02-15T10:00:00+01:00`` -> the date as
    written): a date field holds the day the export shows, never one shifted by a time zone."""
    # called for every date cell, and every cell of a mapping with null_values: the regex only where a time can be
    return _TRAILING_TIME.sub("", text) if ":" in text else text


class CellError(ValueError):
    """A cell that cannot become its field's value; the message is in the export's terms."""


def strptime_format(text: str) -> str:
    """``dd/mm/yyyy`` as ``%d/%m/%Y`` (a format already written with % is kept)."""
    if "%" in text:
        return text

    def token(match: re.Match[str]) -> str:
        found = match.group(0)
        if ":" in found:  # a time: hh:mm or hh:mm:ss
            return "%H:%M:%S" if found.endswith(":ss") else "%H:%M"
        return _STRPTIME[found]

    return _TOKENS.sub(token, text)


def show(value: str, spec: FieldSpec) -> str:
    """A cell's value for a message, or a note that it is withheld (personal fields)."""
    if spec.personal:
        return "(value not shown: personal data)"
    text = value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"
    return '"' + text.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Column:
    """How one field is read from one column (or set to one value for every row)."""

    field: FieldSpec
    column: str | None
    constant: Any = None
    values: tuple[tuple[str, Any], ...] = ()
    date_formats: tuple[tuple[str, str], ...] = ()
    """(strptime format, the format as the mapping wrote it) pairs, tried in order."""
    separator: str = ";"
    null_values: frozenset[str] = frozenset()
    null_dates: frozenset[str] = frozenset()
    """The null values that are dates (the CLD's 01/01/1900), as yyyy-mm-dd: a date cell equal to one is empty."""
    flags: tuple[tuple[str, Any], ...] = ()
    """For a list field fed by yes/no columns, one per value: (column, the value a yes adds)."""

    def headers(self) -> list[str]:
        """The export's columns this field reads."""
        if self.flags:
            return [column for column, _ in self.flags]
        return [self.column] if self.column is not None else []

    def read_row(self, cells: dict[str, str]) -> Any:
        """The field's value from a row's cells (see ``read``)."""
        if self.flags:
            chosen = []
            for reader, value in self._flag_readers:
                try:
                    flag = reader.read(cells.get(reader.column))
                except CellError as exc:
                    raise CellError(f'in column "{reader.column}", {exc}') from None
                if flag:
                    chosen.append(value)
            return chosen or None
        return self.read(cells.get(self.column) if self.column is not None else None)

    @cached_property
    def _flag_readers(self) -> list[tuple[Column, Any]]:
        return [(Column(_FLAG, column, null_values=self.null_values), value) for column, value in self.flags]

    @cached_property
    def parts(self) -> tuple[str, ...]:
        """The field's path as a tuple (``("exploitation_screening", "date")``)."""
        return tuple(self.field.path.split("."))

    @cached_property
    def _codes(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The value map by exact code and by normalised code."""
        exact = dict(reversed(self.values))
        return exact, {normal_name(code): value for code, value in reversed(self.values)}

    @cached_property
    def _allowed(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The field's own values by text and by normalised text."""
        values = self.field.values
        return {str(v): v for v in values}, {normal_name(str(v)): v for v in values}

    @cached_property
    def _item(self) -> Column:
        return Column(self.field.item, self.column, values=self.values, null_values=self.null_values)

    def read(self, cell: str | None) -> Any:
        """The field's value from the cell's text (None for nothing recorded).

        Raises:
            CellError: the text is not a value of this field (an unmapped code, a date in another format...).
        """
        if self.column is None:
            return self.constant
        formula = formula_text(cell or "")
        if formula is not None:
            raise CellError(f"formula never calculated ({formula[:_SHOWN]}): the file was saved by a program that "
                            "does not work out formulas, so the value Excel shows is not in it; open and save the "
                            "file in Excel, then run again")
        text = (cell or "").strip(WHITESPACE)
        if self.field.kind == "list":  # codes are looked up one by one, after the cell is split
            if not text:
                return None
            items = [self._item.read(part) for part in text.split(self.separator)]
            return [i for i in items if i is not None] or None
        if self.values:
            found = _lookup(text, self._codes)
            if found is not _NO:
                return found
        if not text or (self.null_values and (text.casefold() in self.null_values
                                              or without_time(text).casefold() in self.null_values)):
            return None
        return self._convert(text)

    def _convert(self, text: str) -> Any:
        spec = self.field
        if spec.kind == "enum":
            found = _lookup(text, self._allowed)
            if found is not _NO:
                return found
            if self.values:
                codes = ", ".join(sorted({code for code, _ in self.values})[:12])
                raise CellError(f"{show(text, spec)} is not one of the mapped codes ({codes})")
            allowed = ", ".join(str(v) for v in spec.values)
            raise CellError(f"{show(text, spec)} is not one of: {allowed} (map local codes with 'values' in the mapping)")
        if spec.kind == "date":
            return self._date(text)
        if spec.kind == "boolean":
            folded = text.casefold()
            if folded in _TRUE:
                return True
            if folded in _FALSE:
                return False
            raise CellError(f"{show(text, spec)} is not yes or no (Y, N, Yes, No, true, false, 1 or 0)")
        if spec.kind == "integer":
            if not _INTEGER.fullmatch(text):
                raise CellError(f"{show(text, spec)} is not a whole number")
            return int(text.split(".")[0])
        return text

    def _date(self, text: str) -> str:
        day_only = without_time(text)
        for candidate in (text, day_only) if day_only != text else (text,):
            day = self._day(candidate)
            if day is not None:
                return None if day in self.null_dates else day
        shown = " or ".join(label for _, label in self.date_formats) or "yyyy-mm-dd"
        hint = " (an Excel date number: format the column as a date before exporting)" if (
            text.isascii() and text.isdigit() and 10_000 <= int(text) <= 80_000 and not self.field.personal) else ""
        raise CellError(f"{show(text, self.field)} is not a date in the format {shown}{hint}")

    def _day(self, text: str) -> str | None:
        for fmt, _ in self.date_formats:
            day = _parse_date(text, fmt)
            if day is not None:
                return day
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                return dt.date.fromisoformat(text).isoformat()
            except ValueError:
                return None
        return None


_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_NUMERIC_DATE = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")


def date_order(formats: tuple[tuple[str, str], ...]) -> set[str]:
    """Which orders of day and month written as numbers the formats read: {"day"} for dd/mm/yyyy, {"month"} for
    mm/dd/yyyy, both when the mapping lists both (so 05/06/2015 could be either)."""
    orders = set()
    for fmt, _ in formats:
        day, month, year = fmt.find("%d"), fmt.find("%m"), max(fmt.find("%Y"), fmt.find("%y"))
        if 0 <= day and 0 <= month and year > max(day, month):  # yyyy-mm-dd cannot be misread
            orders.add("day" if day < month else "month")
    return orders


def day_and_month(text: str) -> tuple[int, int] | None:
    """The two leading numbers of a date cell written as numbers (05/06/2015, 5.6.15), in the order written; None for
    any other cell. What ``order_clash`` and ``order_shown`` both judge, so a reader can find it once per cell."""
    match = _NUMERIC_DATE.fullmatch(without_time(text))
    return None if match is None else (int(match[1]), int(match[3]))


def order_clash(text: str | tuple[int, int] | None, orders: set[str]) -> str | None:
    """Why a date cell shows that its column is not in the order the mapping reads (None if it does not): in a
    dd/mm/yyyy column, 11/20/2015 can only be month-first, so the column's 11/06/2015 could be 6 November or 11
    June. ``text`` may be given as its ``day_and_month``."""
    numbers = day_and_month(text) if isinstance(text, str) else text
    if numbers is None or len(orders) != 1:
        return None
    first, second = numbers
    if orders == {"day"} and first <= 12 < second <= 31:
        return "month-first (mm/dd/yyyy, as a US-locale tool writes dates)"
    if orders == {"month"} and second <= 12 < first <= 31:
        return "day-first (dd/mm/yyyy)"
    return None


def order_shown(text: str | tuple[int, int] | None) -> str | None:
    """What a date cell written as numbers (05/06/2015, 5.6.15) says of its column's order of day and month: "day" when
    only day-first reads it (20/11/2015), "month" when only month-first does (11/20/2015), "either" when both read it
    as different days (05/06/2015), None when the order makes no difference or it is not such a date (2015-06-05,
    06/06/2015, 15-Feb-2016). ``text`` may be given as its ``day_and_month``."""
    numbers = day_and_month(text) if isinstance(text, str) else text
    if numbers is None:
        return None
    first, second = numbers
    if first == second or not (1 <= first <= 31 and 1 <= second <= 31):
        return None
    if first <= 12 and second <= 12:
        return "either"
    if first <= 12:
        return "month"
    return "day" if second <= 12 else None


def _parse_date(text: str, fmt: str) -> str | None:
    """``text`` in ``fmt`` as yyyy-mm-dd, or None (dd/mm/yyyy, the usual case, without strptime's cost)."""
    if fmt == "%d/%m/%Y":
        match = _DMY.fullmatch(text)
        if match is None:
            return None
        try:
            return dt.date(int(match[3]), int(match[2]), int(match[1])).isoformat()
        except ValueError:
            return None
    try:
        return dt.datetime.strptime(text, fmt).date().isoformat()
    except ValueError:
        return None


_NO = object()
_FLAG = FieldSpec("flag", "boolean")


def _lookup(text: str, tables: tuple[dict[str, Any], dict[str, Any]]) -> Any:
    """``text``'s value by exact code, else by normalised code (``_NO`` if neither)."""
    exact, normal = tables
    if text in exact:
        return exact[text]
    return normal.get(normal_name(text), _NO)


@dataclass(frozen=True)
class Link:
    """A link table (Child Level Data's link_intervention_programme_asset, say): which rows of a table belong to
    which case, many to many."""

    file: str
    sheet: str
    on: tuple[tuple[str, str], ...]
    """(column of the link table, column of the linked table) pairs that must be equal."""


@dataclass(frozen=True)
class Table:
    """One table of the export: where it is, how its rows join the case, and its columns."""

    name: str
    target: Target
    file: str
    sheet: str
    join: tuple[tuple[str, str], ...]
    """(field of the case or of the parent item, column in this table) pairs."""
    columns: tuple[Column, ...]
    encoding: str | None = None
    """This CSV file's encoding, where it differs from the mapping's."""
    delimiter: str | None = None
    via: Link | None = None
    """A link table that holds the join's columns, for a table that does not carry its case's key itself."""
    where: tuple[tuple[str, frozenset[str]], ...] = ()
    """Row filters: (column, the values a row must hold there, compared ignoring case and spacing); a row that does
    not hold one is not this table's (another stage, a secondary offence) and is left out, counted."""

    def keeps(self, cells: dict[str, str]) -> bool:
        """Whether a row passes the table's row filters."""
        return all(normal_name(cells.get(column, "")) in values for column, values in self.where)

    @cached_property
    def key_columns(self) -> list[str]:
        """The columns of this table a row's join is worked out from: the join's own, or the link's ``on``."""
        if self.via is not None:
            return [column for _, column in self.via.on]
        return [column for _, column in self.join]

    @cached_property
    def join_fields_read(self) -> frozenset[str]:
        """Columns this table reads both to join and as a field of its items (a linked table's own id)."""
        return frozenset(self.key_columns) & {h for c in self.columns for h in c.headers()}

    @cached_property
    def item_columns(self) -> tuple[str, ...]:
        """The columns whose cells make a row of a list table an item: every column its fields read but its join and
        filter columns, unless a field reads one of those too (a linked table's own id). A row empty in all of them
        holds no item (an order with no requirement)."""
        keys = set(self.key_columns) | {c for c, _ in self.where}
        return tuple(h for c in self.columns for h in c.headers() if h not in keys or h in self.join_fields_read)

    @cached_property
    def used_columns(self) -> list[str]:
        """Every column this table reads (join columns first, then filter columns), each once."""
        names = self.key_columns + [c for c, _ in self.where] + [h for c in self.columns for h in c.headers()]
        return list(dict.fromkeys(names))

    def join_values(self, record: dict[str, Any], item: dict[str, Any] | None) -> list[Any]:
        """The values a row of this table must match: each join field's, from the case or from the parent item."""
        parent = self.target.parent
        return [get_path(item or {}, name[len(parent) + 1:]) if parent and name.startswith(parent + ".")
                else get_path(record, name) for name, _ in self.join]


@dataclass(frozen=True)
class Mapping:
    """A loaded, checked mapping."""

    path: Path | None
    name: str
    tables: dict[str, Table]
    encoding: str = "auto"
    delimiter: str = "auto"
    allow_missing: bool = False
    """Tables, and columns of fields that are not required, may be absent from the export (read as empty)."""

    @cached_property
    def not_exported(self) -> frozenset[str]:
        """The optional parts of a record (records.model.OPTIONAL_PARTS) this mapping reads no table for, and the fields
        of held parts (OPTIONAL_FIELDS) it reads no column for: unknown for every case read through it (court counts as
        read when the record table maps any of its columns)."""
        court = any(c.field.path.startswith("court.") for c in self.tables[RECORD].columns) if RECORD in self.tables \
            else False
        held = {t.target.name for t in self.tables.values()}
        parts = {p for p in OPTIONAL_PARTS if p not in held and not (p == "court" and court)}
        read = {(t.target.name, c.field.path) for t in self.tables.values() for c in t.columns}
        fields = set()
        for name in OPTIONAL_FIELDS:
            part = max((t for t in targets() if name.startswith(t + ".")), key=len)
            field = name[len(part) + 1:]
            if part in ("child", "order"):
                if (RECORD, name) not in read and (part, field) not in read:
                    fields.add(name)
            elif part not in parts and (part, field) not in read:
                fields.add(name)
        return frozenset(parts | fields)

    @cached_property
    def ordered(self) -> list[Table]:
        """Tables in the order records are built: the record, its single objects, its lists, then nested lists."""
        def rank(table: Table) -> tuple[int, str]:
            t = table.target
            return (0 if t.name == RECORD else 1 if not t.many else 2 if t.parent is None else 3), table.name
        return sorted(self.tables.values(), key=rank)


def _fail(path: Path | None, message: str) -> None:
    raise MappingError(f"{path or 'mapping'}: {message}")


def _date_formats(path: Path | None, where: str, formats: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for text in formats:
        fmt = strptime_format(text)
        try:
            dt.date(2016, 2, 15).strftime(fmt)
            dt.datetime.strptime(dt.date(2016, 2, 15).strftime(fmt), fmt)
        except (ValueError, re.error) as exc:
            _fail(path, f"{where}: date format {text!r} cannot be used ({exc})")
        if not any(code in fmt for code in ("%d", "%m", "%b", "%B")):
            _fail(path, f"{where}: date format {text!r} has no day or month (write it like dd/mm/yyyy)")
        out.append((fmt, text))
    if len(date_order(tuple(out))) > 1:
        _fail(path, f"{where}: the date formats read the day first and the month first, so a date like 05/06/2015 "
                    "could be either: keep one order (a column whose dates are month-first gets its own date_formats)")
    return tuple(out)


OUT_OF_SCOPE = "out_of_scope"
"""What an order type code maps to for a disposal the SQS pack does not cover (youth caution, community resolution,
Outcome 22): the row is recorded as out of scope, counted and named in the report, never judged."""


def _check_value(path: Path | None, where: str, spec: FieldSpec, code: str, value: Any) -> None:
    if value is None:
        return
    if value == OUT_OF_SCOPE and spec.path in ("order.order_type", "order_type"):
        return
    item = spec.item if spec.kind == "list" and spec.item else spec
    if value == TODO:
        allowed = ", ".join(str(v) for v in item.values) if item.kind == "enum" else f"a {item.kind} value"
        _fail(path, f"{where}: code {code!r} is still TODO: map it to one of: {allowed} (or null: nothing recorded)")
    if item.kind == "enum" and value not in item.values:
        allowed = ", ".join(str(v) for v in item.values)
        _fail(path, f"{where}: code {code!r} maps to {value!r}, which is not one of: {allowed}")
    if item.kind == "boolean" and not isinstance(value, bool):
        _fail(path, f"{where}: code {code!r} maps to {value!r}; a yes/no field takes true or false")
    if item.kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        _fail(path, f"{where}: code {code!r} maps to {value!r}; this field takes a whole number")
    if item.kind in ("string", "date") and not isinstance(value, str):
        _fail(path, f"{where}: code {code!r} maps to {value!r}; this field takes text")


def _column(path: Path | None, table: str, target: Target, field_name: str, raw: Any, defaults: dict[str, Any]) -> Column:
    where = f"tables.{table}.columns.{field_name}"
    if field_name not in target.fields:
        nested = f" ({field_name.split('.')[0]} is a list: give it its own table)" if field_name.split(".")[0] in {
            n.split(".")[-1] for n in targets() if targets()[n].many} else ""
        _fail(path, f"{where}: {table} has no field {field_name!r}{suggest(field_name, target.fields)}{nested}")
    spec = target.fields[field_name]
    if isinstance(raw, str):
        raw = {"column": raw}
    if raw.get("column") == TODO:
        _fail(path, f"{where}: the column is still TODO: give the export's column for {field_name}, or remove the line")
    if "flags" in raw:
        if spec.kind != "list" or spec.item is None:
            _fail(path, f"{where}: 'flags' fills a list field (such as identified_needs); {field_name} is not one")
        for column, value in raw["flags"].items():
            _check_value(path, where, spec, column, value)
        flags = tuple(raw["flags"].items())
        return Column(spec, ", ".join(c for c, _ in flags), flags=flags)
    if "value" in raw:
        _check_value(path, where, spec, "value", raw["value"])
        if spec.kind == "date":
            try:
                dt.date.fromisoformat(raw["value"])
            except ValueError:
                _fail(path, f"{where}: value {raw['value']!r} is not a date written yyyy-mm-dd")
        return Column(spec, None, constant=raw["value"])
    values = raw.get("values") or {}
    for code, value in values.items():
        if not isinstance(code, str):
            _fail(path, f"{where}: code {code!r} was read by YAML as {type(code).__name__}, not as text: put it in "
                        "quotes (\"Yes\": ..., \"01\": ...)")
        _check_value(path, where, spec, code, value)
    kind = spec.item.kind if spec.kind == "list" and spec.item else spec.kind
    if values and kind not in ("enum", "boolean", "string", "integer", "date"):
        _fail(path, f"{where}: 'values' cannot be used for this field")
    formats = _date_formats(path, where, raw["date_formats"]) if "date_formats" in raw else defaults["date_formats"]
    probes = (Column(spec, raw["column"], date_formats=formats), Column(spec, raw["column"],
                                                                        date_formats=defaults["date_formats"]))
    null_dates = frozenset(filter(None, (p._day(without_time(v)) for p in probes for v in defaults["null_texts"])))
    return Column(spec, raw["column"], values=tuple((str(k), v) for k, v in values.items()), date_formats=formats,
                  separator=raw.get("separator", defaults["separator"]), null_values=defaults["null_values"],
                  null_dates=null_dates)


def _join(path: Path | None, name: str, target: Target, join: dict[str, str], tables: dict[str, Any]) -> tuple:
    all_targets = targets()
    record_fields = all_targets[RECORD].fields
    pairs = []
    has_parent_key = False
    for field_name, column in join.items():
        where = f"tables.{name}.join.{field_name}"
        if column == TODO:
            _fail(path, f"{where}: the column is still TODO: give the column of this table that holds {field_name}")
        if target.parent and field_name.startswith(target.parent + "."):
            item_field = field_name[len(target.parent) + 1:]
            parent = all_targets[target.parent]
            if item_field not in parent.fields:
                _fail(path, f"{where}: {target.parent} has no field {item_field!r}{suggest(item_field, parent.fields)}")
            if item_field not in (tables.get(target.parent) or {}).get("columns", {}):
                _fail(path, f"{where}: the {target.parent} table does not map {item_field!r}, so rows cannot be joined on it")
            has_parent_key = True
        else:
            if field_name not in record_fields:
                _fail(path, f"{where}: a case record has no field {field_name!r}{suggest(field_name, record_fields)}")
            if field_name not in (tables.get(RECORD) or {}).get("columns", {}):
                _fail(path, f"{where}: the record table does not map {field_name!r}, so rows cannot be joined on it")
        pairs.append((field_name, column))
    if target.parent and not has_parent_key:
        _fail(path, f"tables.{name}.join: name the {target.parent} item each row belongs to, e.g. "
                    f"{target.parent}.{next(iter(all_targets[target.parent].fields))}: <column>")
    return tuple(pairs)


def load_mapping(path: Path | str) -> Mapping:
    """Read and check a mapping file.

    Raises:
        MappingError: the file is not valid YAML, breaks schemas/mapping.schema.json, or names a part,
            field, code or join the case record does not have (the message names the nearest that exists).
    """
    path = Path(path)
    data = load_yaml(path, MappingError, loader=TextKeyLoader)
    error = best_match(Draft202012Validator(load_schema("mapping")).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        _fail(path, f"at {where}: {error.message}")
    todos = list(_todos(data))
    if len(todos) > 1:
        shown = "; ".join(todos[:20]) + (f"; and {len(todos) - 20} more" if len(todos) > 20 else "")
        _fail(path, f"{len(todos)} TODOs are still to settle: {shown}")
    return build_mapping(data, path)


def unsettled(data: Any) -> list[str]:
    """Where a parsed mapping still says TODO as a value or a column: what `mapping check` refuses, and what
    `mapping init` counts as TODOs to settle (a TODO in a comment is a note, not counted)."""
    return list(_todos(data))


def _todos(node: Any, where: str = "") -> Any:
    """Where a mapping still says TODO (a value, or a column)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _todos(value, f"{where}.{key}" if where else str(key))
    elif node == TODO:
        yield where


def build_mapping(data: dict[str, Any], path: Path | None = None) -> Mapping:
    """A Mapping from already-parsed YAML (checked against the record; see load_mapping)."""
    all_targets = targets()
    defaults = {
        "date_formats": _date_formats(path, "date_formats", data.get("date_formats", list(DEFAULT_DATE_FORMATS))),
        "separator": data.get("separator", ";"),
        "null_values": frozenset(v.strip().casefold() for v in data.get("null_values", [])),
        "null_texts": tuple(v.strip() for v in data.get("null_values", [])),
    }
    raw_tables: dict[str, Any] = data["tables"]
    tables: dict[str, Table] = {}
    mapped: dict[str, str] = {}
    for name, raw in raw_tables.items():
        part = raw.get("part", name)
        if part not in all_targets:
            _fail(path, f"tables.{name}: a case record has no part {part!r}{suggest(part, all_targets)}; "
                        f"the parts are: {', '.join(all_targets)}")
        target = all_targets[part]
        if part != name and (not target.many or target.parent is not None or name in all_targets):
            _fail(path, f"tables.{name}: 'part' lets a second table feed a list of the record (contacts, referrals...) "
                        f"under a name of its own; {part} cannot take one" if name not in all_targets else
                  f"tables.{name}: {name} is a part of the record itself, so it cannot feed {part}: give the table "
                  "another name")
        if name == RECORD and raw.get("join"):
            _fail(path, "tables.record.join: the record table is the one the others join to; it has no join")
        if name != RECORD and not raw.get("join"):
            _fail(path, f"tables.{name}: give 'join' (which column of this table holds the case's key)")
        if target.parent and target.parent not in raw_tables:
            _fail(path, f"tables.{name}: {name} rows nest in {target.parent}, which has no table")
        columns = tuple(_column(path, name, target, f, raw_col, defaults) for f, raw_col in raw["columns"].items())
        for column in columns:
            whole = column.field.path if target.many else (f"{name}.{column.field.path}" if name != RECORD
                                                           else column.field.path)
            key = f"{name}:{whole}" if target.many else whole
            if key in mapped:
                _fail(path, f"tables.{name}.columns: {whole} is already mapped in tables.{mapped[key]}")
            mapped[key] = name
        join = _join(path, name, target, raw.get("join") or {}, raw_tables) if name != RECORD else ()
        file = raw.get("file") or f"{raw['sheet']}.csv"
        sheet = raw.get("sheet") or file.removesuffix(".csv").removesuffix(".CSV")
        delimiter = raw.get("delimiter")
        via = None
        if raw.get("via"):
            if name == RECORD:
                _fail(path, "tables.record.via: the record table is the one the others join to; it has no link")
            link = raw["via"]
            link_file = link.get("file") or f"{link['sheet']}.csv"
            via = Link(link_file, link.get("sheet") or link_file.removesuffix(".csv").removesuffix(".CSV"),
                       tuple(link["on"].items()))
        where = tuple((column, frozenset(normal_name(str(v)) for v in (values if isinstance(values, list) else [values])))
                      for column, values in (raw.get("where") or {}).items())
        tables[name] = Table(name, target, file, sheet, join, columns, encoding=raw.get("encoding"),
                             delimiter="\t" if delimiter == "tab" else delimiter, via=via, where=where)
    for name, table in tables.items():
        missing = [f for f, spec in table.target.fields.items()
                   if spec.required and not _is_mapped(table.target.name, f, mapped, name)]
        if missing:
            _fail(path, f"tables.{name}: no column is mapped to the required field(s) {', '.join(missing)}")
    delimiter = data.get("delimiter", "auto")
    return Mapping(path, data.get("name", path.stem if path else "mapping"), tables,
                   encoding=data.get("encoding", "auto"), delimiter="\t" if delimiter == "tab" else delimiter,
                   allow_missing=data.get("allow_missing", False))


def _is_mapped(table: str, field_name: str, mapped: dict[str, str], key: str | None = None) -> bool:
    if targets()[table].many:
        return f"{key or table}:{field_name}" in mapped
    whole = field_name if table == RECORD else f"{table}.{field_name}"
    return whole in mapped
