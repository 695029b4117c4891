"""Validating raw records into CaseRecords, and describing each rejection by file, position, field and reason."""

from __future__ import annotations

import re
import sqlite3
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from qa_engine.exports.raw import RawRecord
from qa_engine.records.model import CaseRecord

__all__ = ["Problem", "Rejection", "SeenIds", "Validator"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")


class Problem(BaseModel):
    """One thing wrong with a record: the JSON pointer of the field, what was wrong, and for a record read from
    tables, where in the export (``contacts.csv row 118, column "Outcome"``).

    A reason shows a cell's value only when it is a code, date or number from the export, never a personal field.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pointer: str
    reason: str
    where: str | None = None

    def describe(self, fallback: str, who: str = "") -> str:
        """The problem as one line for a person: where (and whose case), then what was wrong."""
        if self.where:
            return f"{self.where}{who}: {self.reason}"
        return f"{fallback}{who}: {self.pointer or '(record)'}: {self.reason}"


class Rejection(BaseModel):
    """A record that was not audited, and why: one line of rejected.jsonl."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    position: str
    case_id: str | None
    pointer: str
    reason: str
    problems: list[Problem]
    kind: Literal["record", "unmatched_row", "out_of_scope"] = "record"
    """``unmatched_row``: a row of an export's table that joins no case (reported, never audited); ``out_of_scope``:
    a disposal the rule pack does not cover (youth caution, community resolution, Outcome 22), counted, not judged."""
    disposal: str | None = None
    """For ``out_of_scope``: the disposal code as the export writes it."""

    def lines(self) -> list[str]:
        """Each problem as one line for a person."""
        who = f" (case {self.case_id})" if self.case_id else ""
        return [p.describe(f"{self.source} {self.position}", who) for p in self.problems]


def _pointer(loc: tuple[Any, ...]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def _within(pointer: str, places: set[str]) -> bool:
    """Whether ``pointer`` is one of ``places`` or inside one (a row that could not be read explains its fields)."""
    return pointer in places or any(place and pointer.startswith(place + "/") for place in places)


def _reason(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field: not in the case record schema (check the spelling, or map it with a mapping file)"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch" and "A-Za-z0-9._:/-" in str(error.get("ctx", {}).get("pattern", "")):
        return "not an id: use letters, digits and . _ : / - only (no spaces), starting with a letter or digit"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


class SeenIds:
    """Case ids already read in this batch, with where each was first read.

    Kept in a private temporary SQLite database on disk (a small page cache in memory), so a batch of a
    million records does not hold a million ids in memory.
    """

    BATCH = 5000

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": a private temporary on-disk database
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-4096")  # 4 MB
        self._db.execute("CREATE TABLE seen (case_id TEXT PRIMARY KEY, first TEXT NOT NULL) WITHOUT ROWID")
        self._db.execute("BEGIN")
        self._pending = 0

    def first_seen(self, case_id: str, where: str) -> str | None:
        """Where ``case_id`` was first read, or None (and remember ``where``) if this is the first time."""
        cursor = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (case_id, where))
        if cursor.rowcount == 1:
            self._pending += 1
            if self._pending >= self.BATCH:
                self._db.execute("COMMIT")
                self._db.execute("BEGIN")
                self._pending = 0
            return None
        return self._db.execute("SELECT first FROM seen WHERE case_id = ?", (case_id,)).fetchone()[0]

    def close(self) -> None:
        """Close the temporary database (its file goes with it)."""
        self._db.close()


class Validator:
    """Validates records one at a time and remembers case ids, so a repeated case id is rejected.

    Use it as a context manager (``with Validator() as v:``) so the case-id table is closed when the
    batch ends, even on an error.
    """

    def __init__(self) -> None:
        self._seen = SeenIds()

    def __enter__(self) -> Validator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the table of case ids already read."""
        self._seen.close()

    def validate(self, raw: RawRecord) -> CaseRecord | Rejection:
        """The validated record, or a Rejection naming the field and the reason (a repeated case id included)."""
        raw = raw.parsed()
        result = self.check(raw)
        return result if isinstance(result, Rejection) else self.admit(result, raw)

    def admit(self, record: CaseRecord, raw: RawRecord) -> CaseRecord | Rejection:
        """The record, unless its case id was already read in this batch."""
        first = self._seen.first_seen(record.case_id, f"{raw.source} {raw.position}")
        if first is not None:
            reason = f"duplicate case_id: the same case_id was first read at {first}"
            return self._reject(raw, record.case_id, [Problem(pointer="/case_id", reason=reason)])
        return record

    @classmethod
    def check(cls, raw: RawRecord) -> CaseRecord | Rejection:
        """Validate one record on its own (no memory of other records), for use in worker processes."""
        raw = raw.parsed()
        case_id = None
        if isinstance(raw.data, dict):
            value = raw.data.get("case_id")
            if isinstance(value, str) and _ID.match(value):
                case_id = value
        if raw.error is not None:
            where = f"{raw.source} {raw.position}" if raw.unmatched or raw.position.startswith("row ") else None
            if raw.out_of_scope is not None:
                return cls._reject(raw, case_id, [Problem(pointer="/order/order_type", reason=raw.error, where=where)])
            return cls._reject(raw, case_id, [Problem(pointer="", reason=raw.error, where=where)])
        if not isinstance(raw.data, dict):
            return cls._reject(raw, None, [Problem(pointer="", reason="a case record must be a JSON object")])
        problems = [cls._problem(raw, loc, reason, from_model=False) for loc, reason in raw.problems]
        if raw.unreadable_root:  # the case's own row is shifted: what the model would say of it is noise
            return cls._reject(raw, case_id, problems)
        try:
            record = CaseRecord.model_validate(raw.data)
        except ValidationError as exc:
            unreadable = {_pointer(loc) for loc, _ in raw.problems}
            problems += [cls._problem(raw, e["loc"], _reason(e)) for e in exc.errors()
                         if not _within(_pointer(e["loc"]), unreadable)]
        except RecursionError:
            problems.append(Problem(pointer="", reason="record nests too deeply"))
        if problems:
            return cls._reject(raw, case_id, problems)
        return record

    @staticmethod
    def _problem(raw: RawRecord, loc: tuple[Any, ...], reason: str, from_model: bool = True) -> Problem:
        """A problem, located in the export's terms when the record was assembled from tables (a problem the
        model found, away from any one column, is prefixed with the field it concerns)."""
        if raw.locator is None:
            return Problem(pointer=_pointer(loc), reason=reason)
        where, has_column = raw.locator.locate(tuple(loc))
        if has_column and reason == "required field is missing":
            reason = "is empty, but a value is required"
        elif from_model and not has_column and loc:
            reason = f"{'.'.join(str(p) for p in loc)}: {reason}"
        return Problem(pointer=_pointer(loc), reason=reason, where=where or f"{raw.source} {raw.position}")

    @staticmethod
    def _reject(raw: RawRecord, case_id: str | None, problems: list[Problem]) -> Rejection:
        kind = "unmatched_row" if raw.unmatched else "out_of_scope" if raw.out_of_scope is not None else "record"
        return Rejection(source=raw.source, position=raw.position, case_id=case_id, pointer=problems[0].pointer,
                         reason=problems[0].reason, problems=problems, kind=kind, disposal=raw.out_of_scope)
