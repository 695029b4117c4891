"""A batch with malformed records audits the good ones and lists each bad one: read = audited + rejected."""

from __future__ import annotations

import json

from qa_engine.records.model import CaseRecord
from qa_engine.run.audit import audit, validate_inputs


def _good(case_id: str) -> dict:
    return {
        "case_id": case_id,
        "child": {"child_id": "C-" + case_id, "age_at_sentence": 15},
        "order": {"order_id": "O-" + case_id, "order_type": "youth_rehabilitation_order",
                  "sentence_date": "2016-01-04", "start_date": "2016-01-04"},
    }


def _bad_batch(tmp_path):
    lines = [json.dumps(_good("G-1")), "{not json"]
    wrong_type = _good("B-2")
    wrong_type["child"]["age_at_sentence"] = "fifteen"
    unknown_order = _good("B-3")
    unknown_order["order"]["order_type"] = "community_order"
    impossible_date = _good("B-4")
    impossible_date["order"]["sentence_date"] = "2016-02-30"
    missing_id = _good("B-5")
    del missing_id["case_id"]
    unknown_field = _good("B-6")
    unknown_field["child"]["favourite_colour"] = "blue"
    lines += [json.dumps(r) for r in (wrong_type, unknown_order, impossible_date, missing_id, unknown_field)]
    lines += [json.dumps(_good("G-1")), json.dumps(_good("G-2")), "[1, 2]", ""]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_records_are_listed_and_good_ones_audited(tmp_path):
    """Each malformed record is rejected with file, position, pointer and reason; the rest are audited."""
    path = _bad_batch(tmp_path)

    result = audit([str(path)], tmp_path / "out", as_of=None)
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    by_line = {r["position"]: r for r in rejected}

    assert {"records_read": 10, "audited": 2, "rejected": 8} == result.counts
    assert result.counts["records_read"] == result.counts["audited"] + result.counts["rejected"]
    assert by_line["line 2"]["reason"].startswith("not valid JSON")
    assert ("/child/age_at_sentence", "B-2") == (by_line["line 3"]["pointer"], by_line["line 3"]["case_id"])
    assert "/order/order_type" == by_line["line 4"]["pointer"]
    assert "/order/sentence_date" == by_line["line 5"]["pointer"]
    assert ("/case_id", None) == (by_line["line 6"]["pointer"], by_line["line 6"]["case_id"])
    assert "/child/favourite_colour" == by_line["line 7"]["pointer"]
    assert "unknown field" in by_line["line 7"]["reason"]
    assert "duplicate case_id" in by_line["line 8"]["reason"]
    assert f"{path} line 1" in by_line["line 8"]["reason"]
    assert "JSON object" in by_line["line 10"]["reason"]
    assert all(r["source"] == str(path) for r in rejected)


def test_rejection_reasons_never_quote_the_value(tmp_path):
    """A bad value (which may be personal) is described, not repeated."""
    record = _good("B-1")
    record["child"]["date_of_birth"] = "SENTINEL-NOT-A-DATE"
    path = tmp_path / "one.json"
    path.write_text(json.dumps([record]))

    counts, rejections = validate_inputs([str(path)])

    assert 1 == counts["rejected"]
    assert "SENTINEL" not in rejections[0].model_dump_json()
    assert "index 0" == rejections[0].position


def test_model_level_checks(minimal_record):
    """Dates in the wrong order and dangling links are errors, not silent oddities."""
    import pytest
    from pydantic import ValidationError

    minimal_record["order"]["start_date"] = "2016-02-01"
    with pytest.raises(ValidationError, match="before sentence_date"):
        CaseRecord.model_validate(minimal_record)
    minimal_record["order"]["start_date"] = "2016-03-01"
    minimal_record["enforcement"] = [{"action_id": "E-1", "action": "warning", "date": "2016-03-02",
                                      "answers_contact_ids": ["K-404"]}]
    with pytest.raises(ValidationError, match="K-404"):
        CaseRecord.model_validate(minimal_record)


def test_json_array_and_single_object_files(tmp_path):
    """A .json file may hold an array of records or one record."""
    (tmp_path / "many.json").write_text(json.dumps([_good("A-1"), _good("A-2")]))
    (tmp_path / "one.json").write_text(json.dumps(_good("A-3")))

    counts, _ = validate_inputs([str(tmp_path / "many.json"), str(tmp_path / "one.json")])

    assert {"records_read": 3, "valid": 3, "rejected": 0} == counts


def test_unparseable_json_file_is_one_rejection(tmp_path):
    """A .json file that is not JSON at all is listed as one rejected entry, not dropped."""
    (tmp_path / "broken.json").write_text('[{"case_id": "A-1",')

    counts, rejections = validate_inputs([str(tmp_path / "broken.json")])

    assert {"records_read": 1, "valid": 0, "rejected": 1} == counts
    assert "file" == rejections[0].position


def test_bom_crlf_and_a_latin1_line(tmp_path):
    """A byte-order mark and CRLF line ends are accepted; a line that is not UTF-8 is rejected, the rest read."""
    good = [json.dumps(_good(f"E-{i}")).encode() for i in range(3)]
    bad = json.dumps(_good("E-9")).replace("E-9", "E-\xe9").encode("latin-1")
    (tmp_path / "x.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join([good[0], bad, good[1], good[2]]) + b"\r\n")

    counts, rejections = validate_inputs([str(tmp_path / "x.jsonl")])

    assert {"records_read": 4, "valid": 3, "rejected": 1} == counts
    assert ("line 2", "not UTF-8") == (rejections[0].position, rejections[0].reason[:9])


def test_stdin_forms(monkeypatch):
    """Standard input may hold JSON Lines, one pretty-printed object, or an array."""
    import io
    import sys

    from qa_engine.exports.sources import read_inputs

    one = _good("S-1")
    for text, expected in [
        ("\n".join(json.dumps(_good(f"S-{i}")) for i in range(3)), 3),
        (json.dumps(one, indent=2), 1),
        (json.dumps([one, _good("S-2")], indent=2), 2),
        ("", 0),
    ]:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
        records = list(read_inputs(["-"]))

        assert expected == len(records)
        assert all(r.error is None for r in records)


def test_seen_ids_remember_where_first_read():
    """The duplicate check keeps ids out of memory but still says where the first one was read."""
    from qa_engine.exports.validation import SeenIds

    seen = SeenIds()
    try:
        for i in range(12_000):  # more than one commit batch
            assert seen.first_seen(f"C-{i}", f"a.jsonl line {i + 1}") is None

        assert "a.jsonl line 1" == seen.first_seen("C-0", "b.jsonl line 9")
        assert "a.jsonl line 12000" == seen.first_seen("C-11999", "b.jsonl line 10")
    finally:
        seen.close()  # an unclosed connection is a ResourceWarning on Python 3.13, an error under the suite's settings
