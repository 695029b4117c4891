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
