"""Reading exported case records: JSON (an array or one object), JSON Lines, or stdin, each record with where it came from.

JSON Lines are read a line at a time, so memory does not grow with the size of the file; a JSON
document (an array of records) has to be read whole.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import orjson

from qa_engine.base.errors import InputError
from qa_engine.exports.raw import DEFAULT_LIMITS, Limits, RawRecord, parse_record

if TYPE_CHECKING:
    from qa_engine.exports.mapping import Mapping

__all__ = ["export_mapping", "read_inputs", "refuse_lone_table"]

_LINES_SUFFIXES = (".jsonl", ".ndjson")
_BOM = b"\xef\xbb\xbf"


def _lines(lines: Iterable[bytes], source: str, limits: Limits, first_number: int = 1) -> Iterator[RawRecord]:
    for number, line in enumerate(lines, start=first_number):
        if number == 1:
            line = line.removeprefix(_BOM)
        if len(line) > limits.max_record_bytes:
            yield RawRecord(source, f"line {number}", error=(
                f"record is {len(line):,} bytes, over the limit of {limits.max_record_bytes:,} (see --max-record-bytes)"))
        elif line.strip():
            yield RawRecord(source, f"line {number}", text=line, max_depth=limits.max_depth)


def _document(data: bytes, source: str, limits: Limits) -> Iterator[RawRecord]:
    record = parse_record(source, "file", data.removeprefix(_BOM), Limits(limits.max_record_bytes, limits.max_depth + 1))
    if record.error is not None:
        yield record
    elif isinstance(record.data, list):
        for index, item in enumerate(record.data):
            yield RawRecord(source, f"index {index}", item)
    else:
        yield RawRecord(source, "index 0", record.data)


def _stdin(stream: BinaryIO, limits: Limits) -> Iterator[RawRecord]:
    """Standard input: JSON Lines if the first line is a whole JSON value, otherwise one JSON document."""
    source = "<stdin>"
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        return
    head = first.removeprefix(_BOM)
    try:
        orjson.loads(head)
    except (orjson.JSONDecodeError, UnicodeDecodeError, RecursionError):
        if head.lstrip()[:1] in (b"[", b"{"):
            yield from _document(head + stream.read(), source, limits)
            return
    yield from _lines([first], source, limits)
    yield from _lines(stream, source, limits, first_number=2)


def export_mapping(name: str, mapping: Mapping | None) -> Mapping:
    """The mapping to read the export ``name`` with: the one given, or the flat layout's for a folder that has cases.csv."""
    from qa_engine.exports.mapping import flat_mapping

    if mapping is not None:
        return mapping
    path = Path(name)
    if path.is_dir() and not any(p.name.casefold() == "cases.csv" for p in path.iterdir()):
        msg = (f"{name} is a folder without cases.csv, so it is not in qa_engine's flat layout: give --mapping FILE "
               "to say how its tables become case records (`qa-engine mapping init` writes a starter)")
        raise InputError(msg)
    return flat_mapping()


TABLE_SUFFIXES = (".csv", ".tsv", ".xls", ".ods")


def refuse_lone_table(path: Path) -> None:
    """A single CSV file or an old-style workbook is not a JSON input: say what to give instead."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        from qa_engine.exports.tables import kind_hint

        msg = f"{path} is not a JSON file: {kind_hint(path)}"
        raise InputError(msg)


def _read_one(name: str, limits: Limits, mapping: Mapping | None) -> Iterator[RawRecord]:
    if name == "-":
        yield from _stdin(sys.stdin.buffer, limits)
        return
    from qa_engine.exports.assemble import is_export, read_export

    path = Path(name)
    source = str(path)
    if is_export(path):
        yield from read_export(path, export_mapping(name, mapping), limits)
        return
    refuse_lone_table(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        msg = f"cannot read {source}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    with handle:
        if path.suffix.lower() in _LINES_SUFFIXES:
            yield from _lines(handle, source, limits)
        else:
            data = handle.read()
            if data.strip():
                yield from _document(data, source, limits)


def read_inputs(names: list[str], limits: Limits = DEFAULT_LIMITS, mapping: Mapping | None = None) -> Iterator[RawRecord]:
    """Every record of every input in order; a file that cannot be opened raises InputError before its records.

    An input that is a folder of CSV files or an .xlsx workbook is read through ``mapping`` (a folder
    in qa_engine's flat layout needs none); JSON and JSON Lines files are read as case records.
    """
    for name in names:
        yield from _read_one(name, limits, mapping)
