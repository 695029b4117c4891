"""Sharing a run: verify covers run.json itself, outputs are the owner's only, report.md carries no live markup,
the page's one script runs by its hash."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from qa_engine.cli import cli
from qa_engine.records.generate import DEFAULT_UNTIL
from qa_engine.run.audit import audit
from qa_engine.trust.verify import verify_run

from .conftest import EXAMPLE_CASELOAD


@pytest.fixture(name="finished", scope="module")
def _finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    audit([str(EXAMPLE_CASELOAD)], out, as_of=DEFAULT_UNTIL, report=True)
    return out


def _copy(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy, json.loads((copy / "run.json").read_text())


@pytest.mark.parametrize("change", ["as_of", "count", "outputs", "inputs", "limits"])
def test_verify_detects_a_changed_run_json(tmp_path, finished, change):
    """Changing the audit date, a count, the list of outputs or anything else in run.json fails verification."""
    copy, run = _copy(finished, tmp_path)
    if change == "as_of":
        run["as_of"] = "2016-03-01"
    elif change == "count":
        run["counts"]["rejected"] += 1
    elif change == "outputs":
        del run["outputs"]["rejected.jsonl"]
    elif change == "inputs":
        run["inputs"][0]["sha256"] = "0" * 64
    else:
        run["limits"]["max_depth"] = 99
    (copy / "run.json").write_text(json.dumps(run, indent=2))

    result = CliRunner().invoke(cli, ["verify", str(copy)])

    assert 1 == result.exit_code, result.output
    assert "run.json: changed since the run" in result.stdout


def test_verify_refuses_a_run_json_without_its_digest(tmp_path, finished):
    """A run.json whose own digest was removed cannot be vouched for."""
    copy, run = _copy(finished, tmp_path)
    del run["run_sha256"]
    (copy / "run.json").write_text(json.dumps(run))

    assert any("run.json" in p and "digest" in p for p in verify_run(copy).problems)


def test_an_untouched_run_and_a_rebuilt_report_still_verify(tmp_path, finished):
    """The digest survives a report rebuild (which rewrites run.json), and re-indenting run.json changes nothing."""
    copy, run = _copy(finished, tmp_path)
    assert verify_run(copy).ok
    (copy / "run.json").write_text(json.dumps(run))  # same content, other layout
    assert verify_run(copy).ok

    CliRunner().invoke(cli, ["report", str(copy)])
    assert verify_run(copy).ok


_HOSTILE_TEXT = '<img src="http://example.invalid/x.png" onerror="alert(1)"> [click](javascript:alert(1)) ![i](http://e/x.png)'


def test_report_md_shows_text_from_input_policy_and_rules_literally(tmp_path):
    """The service name, rule and criterion titles and input file names reach report.md escaped: no raw HTML, image or
    javascript: link when it is rendered as Markdown."""
    import yaml

    from .conftest import ROOT

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    rule_file = rules / "1.1-initial-assessment-timely.yaml"
    rule = yaml.safe_load(rule_file.read_text())
    rule["title"] = "Breach <script>alert(1)</script> [x](javascript:alert(2))"
    rule_file.write_text(yaml.safe_dump(rule, sort_keys=False))
    criteria = (rules / "criteria.yaml").read_text()
    (rules / "criteria.yaml").write_text(criteria.replace('title: "Engagement, compliance and enforcement"',
                                                          'title: "Engagement <b>bold</b> ![i](http://e/y.png)"'))
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump({"service": _HOSTILE_TEXT}))
    data = tmp_path / "[in](javascript:alert(3)) <b>.jsonl"
    shutil.copy(EXAMPLE_CASELOAD, data)

    audit([str(data)], tmp_path / "out", as_of=DEFAULT_UNTIL, report=True, rules_dir=rules,
          policy_path=tmp_path / "policy.yaml", jobs=1)
    text = (tmp_path / "out" / "report.md").read_text()
    unescaped = re_unescaped(text)

    assert "Breach \\<script\\>" in text
    assert "\\<img" in text
    assert "Engagement \\<b\\>" in text
    for danger in ("<script", "<img", "<b>", "](javascript", "![i]"):
        assert danger not in unescaped, danger


def re_unescaped(text: str) -> str:
    """The text with every backslash-escaped character removed, leaving only what Markdown would interpret."""
    import re

    return re.sub(r"\\.", "", text)


def test_report_html_runs_only_its_own_script(finished):
    """The Content-Security-Policy names the page's one script by its sha256; no inline script is allowed."""
    import base64
    import hashlib
    import re

    html = (finished / "report.html").read_text()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()

    assert "'unsafe-inline'" not in directives["script-src"]
    assert f"'sha256-{digest}'" == directives["script-src"]
    assert "'none'" == directives["default-src"]


KEY = "a-secret-key-of-sufficient-length"


def _pseudonymised(tmp_path, records, *extra):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    key = tmp_path / "key"
    key.write_text(KEY)
    key.chmod(0o600)
    result = CliRunner().invoke(cli, ["audit", str(path), "--as-of", "2016-02-15", "--out", str(tmp_path / "out"),
                                      "--pseudonymise", "--key-file", str(key), "--jobs", "1", *extra])
    assert 0 == result.exit_code, result.output
    return {p.name: _text(p) for p in (tmp_path / "out").iterdir()}


def _text(path):
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "".join(book.read(n).decode() for n in book.namelist())
    return path.read_text()


import zipfile  # noqa: E402


@pytest.mark.parametrize("order_after_audit_date", [False, True], ids=["judged", "order-not-yet-made"])
def test_pseudonymised_outputs_hold_no_team_label_or_exact_date(tmp_path, example_records, order_after_audit_date):
    """Teams, factor categories and every exact date of an event are gone from every output of a pseudonymised run;
    dates become months. So too for a case whose order was made after the audit date (not judged, every rule
    not applicable, saying why)."""
    records = json.loads(json.dumps(example_records))
    if order_after_audit_date:
        records = [r for r in records if r["order"]["order_type"] != "referral_order"][:3]
        for r in records:
            r["order"] = {**r["order"], "sentence_date": "2016-03-09", "start_date": "2016-03-09"}
    for r in records:
        r["team"] = "Riverside Youth Team"
        for a in r.get("assessments", []):
            for n, f in enumerate(a.get("factors", [])):
                f["category"] = f"lives-with-uncle-bob-{n}"
    dates = set()

    def collect(node):
        if isinstance(node, dict):
            for v in node.values():
                collect(v)
        elif isinstance(node, list):
            for v in node:
                collect(v)
        elif isinstance(node, str) and len(node) == 10 and node[4] == "-" and node[7] == "-":
            dates.add(node)

    collect(records)
    texts = _pseudonymised(tmp_path, records)

    for name, text in texts.items():
        if name == "run.json":
            continue
        assert "Riverside" not in text, name
        assert "uncle-bob" not in text, name
        leaked = sorted(d for d in dates if d in text and d != "2016-02-15")
        assert [] == leaked, (name, leaked[:5])
    assert ('"2016-03"' if order_after_audit_date else "2015-") in texts["findings.jsonl"]  # months remain


def test_pseudonymised_rejection_reasons_hold_no_raw_id(tmp_path, example_records):
    """A rejection's reason names contact and action ids by their pseudonyms in a pseudonymised run."""
    records = json.loads(json.dumps(example_records))
    bad = next(r for r in records if r.get("enforcement"))
    bad["enforcement"].append(dict(bad["enforcement"][0]))
    action = bad["enforcement"][0]["action_id"]
    texts = _pseudonymised(tmp_path, records, "--no-report")

    assert "appears twice" in texts["rejected.jsonl"]
    assert action not in texts["rejected.jsonl"]
    assert bad["case_id"] not in texts["rejected.jsonl"]


def test_outputs_are_the_owners_only(tmp_path):
    """A run folder is 0700 and every file in it 0600, unless --readable-by-group asks for 0750 and 0640."""
    import stat

    audit([str(EXAMPLE_CASELOAD)], tmp_path / "own", as_of=DEFAULT_UNTIL, report=True, jobs=1)
    result = CliRunner().invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", "2016-02-15", "--out",
                                      str(tmp_path / "group"), "--readable-by-group", "--jobs", "1"])

    assert 0 == result.exit_code, result.output
    assert 0o700 == stat.S_IMODE((tmp_path / "own").stat().st_mode)
    assert {0o600} == {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "own").iterdir()}
    assert 0o750 == stat.S_IMODE((tmp_path / "group").stat().st_mode)
    assert {0o640} == {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "group").iterdir()}


def test_a_key_file_others_can_read_is_refused(tmp_path):
    """A pseudonym key readable by group or others is refused with the fix."""
    key = tmp_path / "key"
    key.write_text(KEY)
    key.chmod(0o644)

    result = CliRunner().invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", "2016-02-15", "--out",
                                      str(tmp_path / "out"), "--pseudonymise", "--key-file", str(key)])

    assert 2 == result.exit_code
    assert f"chmod 600 {key}" in result.stderr


@pytest.mark.parametrize("as_of", ["2016-02-15", "2017-06-01", "2016-01-15"], ids=["recent", "stale", "ahead"])
def test_pseudonymised_run_json_gives_the_newest_recorded_date_as_a_month(tmp_path, example_records, as_of):
    """run.json's newest recorded date is an event's date: a shared run gives its month only, and no day count or
    suggested --as-of that would give the day back; an old export's warning still says so, without the day."""
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in example_records) + "\n")
    key = tmp_path / "key"
    key.write_text(KEY)
    key.chmod(0o600)
    result = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(path), "--as-of", as_of, "--out",
                                      str(tmp_path / "out"), "--pseudonymise", "--key-file", str(key), "--jobs", "1"])
    assert 0 == result.exit_code, result.output
    date = json.loads((tmp_path / "out" / "run.json").read_text())["audit_date"]

    assert (date["newest_recorded"], date["days_after_newest"], date["suggested_as_of"]) == ("2016-02", None, None)
    assert date["stale"] is (as_of == "2017-06-01")
    assert date["ahead"] is (as_of == "2016-01-15")  # the newest date, 2016-02-22, is 38 days after it
    if date["ahead"]:
        assert "the newest date in the records is in 2016-02, well after the audit date 2016-01-15" in result.output
    texts = result.output + (tmp_path / "out" / "report.md").read_text()
    assert "2016-02-22" not in texts
    if date["stale"]:
        assert "Warning: the newest date in the records is in 2016-02, long before the audit date 2017-06-01" in texts
