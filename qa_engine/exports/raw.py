"""One record as read, before validation: where it came from, and how big and deep it may be.

The types every reader shares (``RawRecord``, ``Locator``, ``Limits``) live here, below the readers
that make them (sources.py for JSON, assemble.py for tables) and the validator that consumes them,
so none of those has to import another. Parsing one record's JSON text under the limits is here
too, because a worker process parses the raw lines it is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["COLUMN_INDEXES", "DEFAULT_LIMITS", "Limits", "Locator", "RawRecord", "parse_record"]


@dataclass(frozen=True)
class Limits:
    """How big and how deep one record may be; a record over a limit is rejected, not parsed."""

    max_record_bytes: int = 1_000_000
    """One record (one JSON Lines line) at most this many bytes: a case file is a few kilobytes."""
    max_depth: int = 32
    """Objects and arrays nested at most this deep: a case record needs about 5."""
    max_document_bytes: int = 100_000_000
    """A JSON document (an array of records, read whole) at most this many bytes; JSON Lines has no such limit."""


DEFAULT_LIMITS = Limits()


def _depth(value: Any, limit: int) -> bool:
    """True when ``value`` (as orjson parsed it: dicts and lists) nests deeper than ``limit``.

    Walked level by level, without recursion; on the hot path (every record), so exact types are
    compared rather than isinstance: orjson makes nothing else.
    """
    level = [value]
    depth = 0
    while level:
        depth += 1
        below: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                children = item.values()
            elif kind is list:
                children = item
            else:
                continue
            if depth > limit:
                return True
            below += [child for child in children if type(child) is dict or type(child) is list]
        level = below
    return False


COLUMN_INDEXES: dict[str, dict[str, dict[tuple[str, ...], str]]] = {}
"""Mapping key -> table -> field path within its object -> column: registered once per process (see
assemble.register_mapping), so a record sent to a worker carries a key, not its mapping's column names."""


@dataclass(frozen=True)
class Locator:
    """Where each part of a record assembled from tables came from, to name a problem in the export's terms."""

    objects: dict[tuple[Any, ...], tuple[str, int, str]]
    """Location of the record, an object or a list item (as pydantic reports it) -> (table label, row, table)."""
    columns_key: str
    """The key of the mapping's column index in COLUMN_INDEXES."""

    def locate(self, loc: tuple[Any, ...]) -> tuple[str, bool]:
        """``contacts.csv row 118, column "Outcome"`` for a location (the nearest row if no column is known),
        and whether a column was found."""
        columns = COLUMN_INDEXES.get(self.columns_key, {})
        nearest = ""
        for end in range(len(loc), -1, -1):
            if loc[:end] not in self.objects:
                continue
            label, row, table = self.objects[loc[:end]]
            column = columns.get(table, {}).get(tuple(loc[end:]))
            if column is not None:
                return f'{label} row {row}, column "{column}"', True
            nearest = nearest or f"{label} row {row}"
        return nearest, False


@dataclass(frozen=True)
class RawRecord:
    """One record as read, before validation: its source, its position there, and the data or why it is unreadable.

    A JSON Lines record keeps its ``text`` unparsed until ``parsed()`` is called, so a batch can hand
    raw lines to worker processes and parse them there.
    """

    source: str
    position: str
    data: Any = None
    error: str | None = None
    text: bytes | None = None
    max_depth: int = DEFAULT_LIMITS.max_depth
    locator: Locator | None = None
    """For a record assembled from tables: where each field came from."""
    problems: tuple[tuple[tuple[Any, ...], str], ...] = ()
    """For a record assembled from tables: cells that could not be read, as (location, reason)."""
    unmatched: bool = False
    """A table row that joins no case (``error`` says why): reported, never audited."""
    unreadable_root: bool = False
    """For a record assembled from tables: the case's own row could not be read, so only its problems are reported."""
    out_of_scope: str | None = None
    """For a record assembled from tables: the disposal code of an order the rule pack does not cover (``error`` says
    so): recorded and counted, never judged."""

    def parsed(self) -> RawRecord:
        """This record with its text parsed (or the reason it cannot be)."""
        if self.text is None:
            return self
        return parse_record(self.source, self.position, self.text, Limits(max_depth=self.max_depth))


def _json_error(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}".replace(": line 1 column", " at column")


def parse_record(source: str, position: str, text: bytes | str, limits: Limits = DEFAULT_LIMITS) -> RawRecord:
    try:
        if isinstance(text, bytes):
            text.decode("utf-8")  # orjson's own message for bad UTF-8 names no byte; check first
        data = orjson.loads(text)
        if _depth(data, limits.max_depth):
            return RawRecord(source, position,
                             error=f"nests deeper than {limits.max_depth} levels (the limit; see --max-depth)")
        return RawRecord(source, position, data)
    except UnicodeDecodeError as exc:
        return RawRecord(source, position, error=f"not UTF-8 text (byte {exc.start}); export the file as UTF-8")
    except orjson.JSONDecodeError as exc:
        return RawRecord(source, position, error=_json_error(exc))
    except RecursionError:
        return RawRecord(source, position, error="not valid JSON: nested too deeply")
