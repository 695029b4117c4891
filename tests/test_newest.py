"""The newest recorded date (for the stale as-of warning) is found wherever a record holds a date."""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

from pydantic import BaseModel

from qa_engine.base.resources import example_path
from qa_engine.exports.sources import read_inputs
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.records import model
from qa_engine.records.generate import generate_lines
from qa_engine.records.newest import PLANNED, _searched, newest_recorded_date


def _every_date(value: Any) -> dt.date | None:
    """The reference: every attribute of every part walked, whatever its declared type."""
    newest = None
    if isinstance(value, BaseModel):
        parts = [v for name, v in value.__dict__.items() if name not in PLANNED]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        return value if isinstance(value, dt.date) else None
    for part in parts:
        found = _every_date(part)
        if found is not None and (newest is None or found > newest):
            newest = found
    return newest


def _mentions_date(annotation: Any) -> bool:
    return annotation is dt.date or any(_mentions_date(arg) for arg in typing.get_args(annotation))


def test_every_date_field_of_every_part_is_searched():
    """A date field added to the record model is searched without anyone remembering to list it."""
    parts = [cls for cls in vars(model).values()
             if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == model.__name__]
    date_fields = 0
    for cls in parts:
        for name, field in cls.model_fields.items():
            if _mentions_date(field.annotation):
                date_fields += 1
                assert (name in _searched(cls)) == (name not in PLANNED), f"{cls.__name__}.{name}"
    assert date_fields > 20


def test_same_date_as_walking_every_attribute(tmp_path):
    """On the shipped example and on generated cases, the newest date is the one a walk of everything finds."""
    generated = tmp_path / "generated.jsonl"
    generated.write_text("".join(generate_lines(300, seed=5)))
    checked = 0
    for source in (example_path("caseload.jsonl"), generated):
        for raw in read_inputs([str(source)]):
            record = Validator.check(raw)
            if isinstance(record, Rejection):
                continue
            assert newest_recorded_date(record) == _every_date(record), record.case_id
            checked += 1
    assert checked > 300
