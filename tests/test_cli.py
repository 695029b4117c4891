"""The qa-engine command: outputs, exit codes, stdin, and errors as messages, never tracebacks."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from qa_engine.base.resources import load_schema
from qa_engine.cli import cli

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD, EXAMPLES


@pytest.fixture(name="runner")
def _runner():
    return CliRunner()


def _audit(runner, out, *extra, inputs=(str(EXAMPLE_CASELOAD),), **kw):
    return runner.invoke(cli, ["--log-format", "json", "audit", *inputs, "--as-of", EXAMPLE_AS_OF,
                               "--out", str(out), *extra], **kw)


class TestAudit:
    def test_example_writes_four_valid_files(self, runner, tmp_path):
        """Auditing the example writes the four files; every line validates and the counts add up."""
        result = _audit(runner, tmp_path)

        assert 0 == result.exit_code, result.output
        assert {"findings.jsonl", "summary.json", "rejected.jsonl", "run.json"} <= {p.name for p in tmp_path.iterdir()}
        findings_schema = Draft202012Validator(load_schema("findings"))
        lines = (tmp_path / "findings.jsonl").read_text().splitlines()
        for line in lines:
            findings_schema.validate(json.loads(line))
        Draft202012Validator(load_schema("summary")).validate(json.loads((tmp_path / "summary.json").read_text()))
        run = json.loads((tmp_path / "run.json").read_text())
        counts = run["counts"]
        assert counts["records_read"] == counts["audited"] + counts["rejected"]
        assert 37 == counts["audited"]
        assert len(lines) == counts["audited"] * len(run["rule_pack"]["rules"])
        assert EXAMPLE_AS_OF == run["as_of"]
        assert run["complete"] is True
        assert "Audited 37 of 37 records" in result.stdout

    def test_every_case_and_rule_has_exactly_one_finding(self, runner, tmp_path):
        """Each (case, rule) pair has exactly one outcome."""
        _audit(runner, tmp_path)
        lines = (tmp_path / "findings.jsonl").read_text().splitlines()
        pairs = [(f["case_id"], f["rule_id"]) for f in map(json.loads, lines)]

        assert len(pairs) == len(set(pairs))

    def test_same_input_same_findings(self, runner, tmp_path):
        """The same input, rules, policy and audit date give byte-identical findings."""
        _audit(runner, tmp_path / "a")
        _audit(runner, tmp_path / "b")

        assert (tmp_path / "a" / "findings.jsonl").read_bytes() == (tmp_path / "b" / "findings.jsonl").read_bytes()
        assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()

    def test_fail_on(self, runner, tmp_path):
        """--fail-on exits 1 when a not-met finding at or above that severity exists."""
        assert 1 == _audit(runner, tmp_path, "--fail-on", "high").exit_code

    def test_stdin(self, runner, tmp_path):
        """'-' reads JSON Lines from stdin."""
        result = _audit(runner, tmp_path, inputs=("-",), input=EXAMPLE_CASELOAD.read_text())

        assert 0 == result.exit_code, result.output
        assert 37 == json.loads((tmp_path / "run.json").read_text())["counts"]["audited"]

    def test_policy(self, runner, tmp_path):
        """A policy file is applied and recorded in run.json with its hash."""
        result = _audit(runner, tmp_path, "--policy", str(EXAMPLES / "policy.yaml"))
        run = json.loads((tmp_path / "run.json").read_text())

        assert 0 == result.exit_code, result.output
        assert 3 == run["policy"]["parameters"]["4.3-failure-answered"]["response_deadline_working_days"]
        assert run["policy"]["sha256"]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--policy", "{tmp}/bad.yaml"], "did you mean"),
            (["--rules", "{tmp}/rules"], "criteria.yaml"),
        ],
    )
    def test_configuration_errors_exit_2_without_traceback(self, runner, tmp_path, args, message):
        """A bad policy or rule folder is exit 2 with a one-line message on stderr."""
        (tmp_path / "bad.yaml").write_text("parameters:\n  1.2-plan-reviewd: {}\n")
        (tmp_path / "rules").mkdir()
        result = _audit(runner, tmp_path / "out", *[a.format(tmp=tmp_path) for a in args])

        assert 2 == result.exit_code
        assert message in result.stderr
        assert "Traceback" not in result.stderr + result.stdout

    def test_missing_input_file(self, runner, tmp_path):
        """An input that cannot be read is exit 2 naming the file."""
        result = _audit(runner, tmp_path, inputs=(str(tmp_path / "nope.jsonl"),))

        assert 2 == result.exit_code
        assert "nope.jsonl" in result.stderr

    def test_bad_as_of(self, runner, tmp_path):
        """An audit date that is not a date is a usage error (exit 2)."""
        result = runner.invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", "15/02/2016", "--out", str(tmp_path)])

        assert 2 == result.exit_code
        assert "2016-02-15" in result.stderr


class TestOtherCommands:
    def test_validate(self, runner, tmp_path):
        """validate lists each rejected record and exits 1 when any is rejected."""
        bad = tmp_path / "bad.jsonl"
        bad.write_text(EXAMPLE_CASELOAD.read_text().splitlines()[0] + "\n{oops\n")
        result = runner.invoke(cli, ["validate", str(bad), "--out", str(tmp_path)])

        assert 1 == result.exit_code
        assert "line 2" in result.stdout
        assert "1 of 2 records valid" in result.stdout
        assert 1 == len((tmp_path / "rejected.jsonl").read_text().splitlines())

    def test_validate_of_an_empty_file_reads_too_little(self, runner, tmp_path):
        """A file with no record in it is not "all valid": exit 3, as audit gives, with a sentence saying so."""
        empty = tmp_path / "empty.jsonl"
        empty.write_text("")
        result = runner.invoke(cli, ["validate", str(empty)])

        assert 3 == result.exit_code
        assert "No case record was read" in result.stderr

    def test_verify_of_a_folder_that_does_not_exist(self, runner, tmp_path):
        """A mistyped run folder is a usage error (exit 2) naming it, not "NOT verified"."""
        result = runner.invoke(cli, ["verify", str(tmp_path / "no-such-run")])

        assert 2 == result.exit_code
        assert "no such folder" in result.stderr and "no-such-run" in result.stderr

    def test_validate_example_is_clean(self, runner):
        """The shipped example has no rejected record."""
        assert 0 == runner.invoke(cli, ["validate", str(EXAMPLE_CASELOAD)]).exit_code

    def test_rules_list_json(self, runner, pack):
        """rules list --format json shows id, criterion, title, basis, severity and parameters of every rule."""
        result = runner.invoke(cli, ["rules", "list", "--format", "json"])
        rows = json.loads(result.stdout)

        assert [r.id for r in pack.rules] == [row["id"] for row in rows]
        assert {"id", "criterion", "title", "basis", "severity", "parameters"} == set(rows[0])

    def test_rules_lint_and_test(self, runner):
        """The shipped pack lints clean and its cases all pass."""
        lint = runner.invoke(cli, ["rules", "lint"])
        test = runner.invoke(cli, ["rules", "test"])

        assert 0 == lint.exit_code, lint.output
        assert 0 == test.exit_code, test.output
        assert " 0 failed" in test.stdout

    def test_rules_test_reports_a_failing_case(self, runner, tmp_path):
        """A rule whose case expects the wrong outcome makes rules test exit 1 and name the case."""
        import shutil

        from qa_engine.rulepack.load import DEFAULT_RULES_DIR

        rules = tmp_path / "rules"
        shutil.copytree(DEFAULT_RULES_DIR, rules)
        cases = rules / "1.2-plan-reviewed.cases.yaml"
        cases.write_text(cases.read_text().replace("  - name: not_met_never_reviewed\n    as_of: 2016-08-01\n"
                                                   "    expect: not_met", "  - name: not_met_never_reviewed\n"
                                                   "    as_of: 2016-08-01\n    expect: met"))
        result = runner.invoke(cli, ["rules", "test", "--rules", str(rules)])

        assert 1 == result.exit_code
        assert "FAIL 1.2-plan-reviewed not_met_never_reviewed" in result.stdout


class TestReadTooLittle:
    """A run that read too little of its input exits 3, and says so first in the terminal and the report."""

    def test_every_record_rejected_exits_3_and_the_report_opens_with_it(self, runner, tmp_path):
        broken = tmp_path / "broken.jsonl"
        broken.write_text('{"case_id": "A-1"}\n{"case_id": "A-2"}\n', encoding="utf-8")
        result = _audit(runner, tmp_path / "out", inputs=(str(broken),))
        assert 3 == result.exit_code, result.output
        assert ("Error: The export could not be read: none of its 2 records could be audited (see rejected.jsonl for "
                "each one's reason). The first: ") in result.stderr
        report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8").splitlines()
        assert report[2].startswith("> **Not to be relied on: The export could not be read: none of its 2 records")
        html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
        assert html.index("Not to be relied on: The export could not be read") < html.index("<main>")
        run = json.loads((tmp_path / "out" / "run.json").read_text())
        assert run["complete"] is True and run["read_too_little"].startswith("The export could not be read")

    def test_an_empty_input_exits_3(self, runner, tmp_path):
        empty = tmp_path / "empty.jsonl"
        empty.write_text("", encoding="utf-8")
        result = _audit(runner, tmp_path / "out", inputs=(str(empty),))
        assert 3 == result.exit_code
        assert "it holds no case record" in result.stderr
        assert "rejected.jsonl" not in result.stderr  # nothing was rejected: nothing to look in

    def test_the_first_rejection_ends_its_sentence_before_look_in(self, runner, tmp_path):
        """The first rejection's reason is quoted as a sentence: "... dd/mm/yyyy. Look in ...", never run on."""
        broken = tmp_path / "broken.jsonl"
        broken.write_text('{"case_id": "A-1"}\n', encoding="utf-8")
        result = _audit(runner, tmp_path / "out", inputs=(str(broken),))
        error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert 1 == len(error), result.stderr
        assert re.search(r"The first: [^\n]*[^.]\. Look in \S*rejected\.jsonl\.$", error[0]), error[0]

    def test_the_rejected_share_over_max_rejected_exits_3_and_under_it_0(self, runner, tmp_path):
        lines = EXAMPLE_CASELOAD.read_text(encoding="utf-8").splitlines()[:4]
        mixed = tmp_path / "mixed.jsonl"
        mixed.write_text("\n".join(lines[:1] + ['{"case_id": "X-1"}'] * 3) + "\n", encoding="utf-8")
        over = _audit(runner, tmp_path / "a", "--no-report", inputs=(str(mixed),))
        assert 3 == over.exit_code
        assert "3 of its 4 records (75%) could not be audited, over the limit of 50% (--max-rejected)" in over.stderr
        assert 0 == _audit(runner, tmp_path / "b", "--no-report", "--max-rejected", "80", inputs=(str(mixed),)).exit_code
        half = tmp_path / "half.jsonl"
        half.write_text("\n".join([*lines[:2], '{"case_id": "X-1"}', '{"case_id": "X-2"}']) + "\n", encoding="utf-8")
        assert 0 == _audit(runner, tmp_path / "c", "--no-report", inputs=(str(half),)).exit_code
        assert 3 == _audit(runner, tmp_path / "d", "--no-report", "--max-rejected", "49",
                           inputs=(str(half),)).exit_code

    def test_read_too_little_comes_before_fail_on(self, runner, tmp_path):
        broken = tmp_path / "broken.jsonl"
        broken.write_text('{"case_id": "A-1"}\n', encoding="utf-8")
        assert 3 == _audit(runner, tmp_path / "out", "--fail-on", "low", inputs=(str(broken),)).exit_code

    def test_a_saved_export_that_rejects_most_cases_exits_3(self, runner, tmp_path):
        """Example 6 of issue 14: a plans table re-saved month-first holds most cases back: not a green run."""
        import shutil

        from .test_saved_exports import _edit_column, _us_date

        export = tmp_path / "export"
        shutil.copytree(EXAMPLES / "cld-like-export", export)
        for column in ("stageStartDate", "stageEndDate"):
            _edit_column(export / "asset_plus.csv", column, _us_date)
        result = _audit(runner, tmp_path / "out", "--no-report", "--mapping", "cld-like", inputs=(str(export),))
        assert 3 == result.exit_code, result.output
        assert "can only be month-first" in result.stderr
