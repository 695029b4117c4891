"""Hostile and broken input: no traceback, a clear message naming file, record and field, and nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_engine.cli import cli
from qa_engine.exports.raw import Limits
from qa_engine.run.audit import validate_inputs

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"

# file: (records read, audited, rejected, a phrase every rejection of it contains or None)
CORPUS = {
    "empty.jsonl": (0, 0, 0, None),
    "blank_lines.jsonl": (1, 1, 0, None),
    "binary.jsonl": (7, 1, 6, None),
    "binary.json": (1, 0, 1, "not UTF-8"),
    "truncated.json": (1, 0, 1, "not valid JSON"),
    "truncated_line.jsonl": (3, 2, 1, "not valid JSON"),
    "bom_crlf.jsonl": (2, 2, 0, None),
    "latin1.jsonl": (2, 1, 1, "not UTF-8"),
    "deep_nesting.jsonl": (3, 1, 2, None),
    "huge_field.jsonl": (1, 0, 1, "at most 10000 characters"),
    "number_dates.jsonl": (2, 0, 2, "not as a number"),
    "dates_out_of_range.jsonl": (2, 0, 2, "out of range"),
    "impossible_date.jsonl": (2, 0, 2, "date"),
    "unknown_fields.jsonl": (2, 0, 2, "unknown field"),
    "not_objects.jsonl": (6, 1, 5, "JSON object"),
    "nan_and_infinity.jsonl": (2, 0, 2, None),
    "wrong_types.jsonl": (3, 0, 3, None),
    "one_object.json": (1, 1, 0, None),
}


def _audit(tmp_path, *args):
    return CliRunner().invoke(cli, ["--log-format", "json", "audit", *args, "--as-of", "2016-06-01",
                                    "--out", str(tmp_path / "out"), "--no-report"])


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_file(tmp_path, name):
    """Each nasty file audits without a traceback; every record is audited or rejected with file, position and field."""
    read, audited, rejected, phrase = CORPUS[name]
    result = _audit(tmp_path, str(HOSTILE / name))
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    rejections = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]

    too_little = audited == 0 or rejected / (audited + rejected) > 0.5  # the run read too little: exit 3
    assert (3 if too_little else 0) == result.exit_code, result.output
    assert "Traceback" not in result.stderr
    assert {"records_read": read, "audited": audited, "rejected": rejected} == run["counts"]
    assert rejected == len(rejections)
    for r in rejections:
        assert r["source"].endswith(name)
        assert r["position"].startswith(("line ", "index ", "file"))
        assert r["reason"]
        if phrase:
            assert phrase in r["reason"], r


def test_huge_value_over_the_record_limit(tmp_path):
    """A 2 MB record is rejected by size before it is parsed; the limit is configurable."""
    line = json.dumps({"case_id": "H-1", "padding": "x" * 2_000_000})
    (tmp_path / "big.jsonl").write_text(line + "\n")

    counts, rejections = validate_inputs([str(tmp_path / "big.jsonl")])
    _, relaxed = validate_inputs([str(tmp_path / "big.jsonl")], limits=Limits(max_record_bytes=3_000_000))

    assert 1 == counts["rejected"]
    assert "over the limit of 1,000,000" in rejections[0].reason
    # with a larger limit it is parsed, and rejected on its content instead
    assert any("unknown field" in p.reason for p in relaxed[0].problems)


def test_depth_limit_is_configurable(tmp_path):
    """Nesting over --max-depth is rejected with the limit named."""
    (tmp_path / "deep.jsonl").write_text(json.dumps({"a": [[[[[[[[1]]]]]]]]}) + "\n")

    _, strict = validate_inputs([str(tmp_path / "deep.jsonl")], limits=Limits(max_depth=5))

    assert "nests deeper than 5 levels" in strict[0].reason


def test_duplicate_case_ids_across_files(tmp_path):
    """The same case id in two files: the second is rejected, naming where the first was read."""
    result = _audit(tmp_path, str(HOSTILE / "duplicate_a.jsonl"), str(HOSTILE / "duplicate_b.jsonl"))
    (rejection,) = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]

    assert 0 == result.exit_code
    assert rejection["source"].endswith("duplicate_b.jsonl")
    assert "duplicate_a.jsonl line 2" in rejection["reason"]


@pytest.mark.parametrize(("name", "phrase"), [
    ("policy_unknown_key.yaml", "deadlines"),
    ("policy_circular.yaml", "refers to itself"),
    ("policy_python_tag.yaml", "python/object"),
    ("policy_not_a_mapping.yaml", "not of type 'object'"),
])
def test_bad_policy_files(tmp_path, name, phrase):
    """A broken or hostile policy file is exit 2 with one line naming the file and the problem."""
    result = _audit(tmp_path, str(HOSTILE / "one_object.json"), "--policy", str(HOSTILE / name))

    assert 2 == result.exit_code
    assert name in result.stderr and phrase in result.stderr
    assert "Traceback" not in result.stderr


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.binary(max_size=200) | _JSON.map(lambda v: json.dumps(v).encode()), max_size=8))
def test_any_bytes_are_read_or_rejected(tmp_path, lines):
    """Whatever bytes a line holds, it is either a valid record or a rejection: nothing raises, nothing is lost."""
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))

    counts, rejections = validate_inputs([str(path)])

    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    non_blank = sum(1 for line in data.split(b"\n") if line.strip())  # counted apart from the reader
    assert counts["records_read"] == non_blank
    assert counts["records_read"] == counts["valid"] + counts["rejected"] == len(rejections) + counts["valid"]


_MUTATIONS = st.sampled_from([None, 0, -1, 3.5, "", "x", "2016-02-30", [], {}, True, "9999-01-01", 10**30])


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_records_are_judged_or_rejected(data, example_records):
    """Replacing any field of a real record with a wrong value never crashes the audit of that record."""
    import datetime as dt

    from qa_engine.exports.validation import Rejection, Validator
    from qa_engine.judge.auditor import Auditor
    from qa_engine.rulepack.load import load_rules

    record = json.loads(json.dumps(data.draw(st.sampled_from(example_records))))
    paths = []

    def walk(node, trail):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append((*trail, key))
                walk(value, (*trail, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*trail, index))

    walk(record, ())
    for trail in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3)):
        node = record
        try:
            for step in trail[:-1]:
                node = node[step]
            node[trail[-1]] = data.draw(_MUTATIONS)
        except (KeyError, IndexError, TypeError):
            continue
    from qa_engine.exports.raw import RawRecord

    with Validator() as validator:
        result = validator.validate(RawRecord("fuzz", "line 1", record))
    if isinstance(result, Rejection):
        assert result.pointer is not None and result.reason
    else:
        auditor = _auditor_cache.setdefault("a", Auditor(load_rules(), as_of=dt.date(2016, 6, 1)))
        assert len(auditor.audit_record(result)) == len(auditor.compiled.rules)


_auditor_cache: dict = {}


@pytest.mark.parametrize("limit", [1, 2, 5, 32])
@pytest.mark.parametrize("container", ["object", "array", "mixed"])
def test_depth_limit_is_exact(limit, container):
    """A record nested exactly to the limit is read; one level more is refused, however the levels are built."""
    from qa_engine.exports.raw import parse_record

    def nested(levels: int) -> object:
        value: object = "leaf"
        for level in range(levels):
            wrap_in_object = container == "object" or (container == "mixed" and level % 2)
            value = {"k": value, "n": 1} if wrap_in_object else [1, value, "x"]
        return {"case_id": "D-1", "deep": value} if levels else {"case_id": "D-1"}

    at_limit = parse_record("d.jsonl", "line 1", json.dumps(nested(limit - 1)), Limits(max_depth=limit))
    over = parse_record("d.jsonl", "line 1", json.dumps(nested(limit)), Limits(max_depth=limit))

    assert at_limit.error is None
    assert over.error == f"nests deeper than {limit} levels (the limit; see --max-depth)"
