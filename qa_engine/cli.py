"""The ``qa-engine`` command: parse options, call the library, turn errors into messages and exit codes.

Exit codes: 0 the run completed; 1 ``--fail-on`` was given and a not-met finding at or above that
severity exists (or, for ``rules test``, a case failed; for ``validate``, a record was rejected);
2 a usage, rule, policy or input-file error (a message on stderr, never a traceback); 3 ``audit`` read too
little to be trusted (no record audited, or more than --max-rejected of them rejected); 4 an
unexpected internal error (a bug: one sentence, details at --log-level debug, never an input value);
130 stopped by Ctrl-C; 143 stopped by SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from qa_engine.base.errors import QAEngineError
from qa_engine.base.logs import configure
from qa_engine.base.version import __version__
from qa_engine.exports.raw import DEFAULT_LIMITS
from qa_engine.run.folder import DEFAULT_KEEP_EARLIER
from qa_engine.trust.pseudonyms import ENV_KEY

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_READ_TOO_LITTLE = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop as Ctrl-C does (every half-written file removed, the run left marked incomplete)."""

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
SEVERITIES = ("low", "medium", "high")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@contextmanager
def _reported(target: Path):
    """Turn qa_engine's errors and a failure to write ``target`` into one line on stderr and exit code 2."""
    try:
        yield
    except QAEngineError as exc:
        _fail(exc.message)
    except OSError as exc:
        _fail(f"could not write {target}: {exc.strerror or exc}")


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2016-02-15", param_hint="--as-of") from None


def _limit_options(function):
    """--max-record-bytes and --max-depth, shared by audit and validate."""
    function = click.option("--max-depth", type=click.IntRange(min=4), default=DEFAULT_LIMITS.max_depth,
                            show_default=True, help="Reject records nested deeper than this.")(function)
    return click.option("--max-record-bytes", type=click.IntRange(min=1024), default=DEFAULT_LIMITS.max_record_bytes,
                        show_default=True, help="Reject a record (a JSON Lines line) larger than this.")(function)


class _MappingPath(click.ParamType):
    """A mapping file, or the name of a mapping shipped with qa_engine (``flat``, ``cld-like``)."""

    name = "FILE|NAME"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        from qa_engine.exports.mapping import shipped_mappings

        path = Path(str(value))
        if path.is_file():
            return path
        shipped = shipped_mappings()
        if str(value) in shipped:
            return shipped[str(value)]
        if path.exists():
            self.fail(f"{value} is a folder, not a mapping file", param, ctx)
        self.fail(f"no file {value!r}, and no shipped mapping of that name (shipped: {', '.join(sorted(shipped))})",
                  param, ctx)


def _mapping_option(function):
    """--mapping, shared by audit, validate and export-csv."""
    return click.option("--mapping", "mapping_path", type=_MappingPath(),
                        help="How the tables of a CSV folder or .xlsx workbook become case records: a mapping file, or "
                             "the name of a shipped one (flat, cld-like, cld-warehouse). A folder in qa_engine's flat "
                             "layout needs none.")(function)


def _load_mapping(path: Path | None):
    from qa_engine.exports.mapping import load_mapping

    return load_mapping(path) if path else None


def _judgements_option(function):
    """--judgements, shared by audit and report."""
    return click.option("--judgements", "judgements", multiple=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="An audit form written by qa-engine audit-form and filled in (repeat for several); its "
                             "answers become the cases' practice judgements.")(function)


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="qa-engine")
@click.option("--log-format", type=click.Choice(["auto", "human", "json"]), default="auto", show_default=True,
              help="Log lines on stderr: human on a terminal, JSON otherwise (auto).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
@click.pass_context
def cli(ctx: click.Context, log_format: str, log_level: str) -> None:
    """Check youth offending case records against the inspectorate's SQS criteria."""
    ctx.obj = {"log_format": log_format, "log_level": log_level}
    configure(log_format, log_level)  # type: ignore[arg-type]


def _log_setting(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """--log-format or --log-level given after the command: applied as if given before it."""
    if value is None:
        return
    settings = ctx.find_root().obj
    settings[param.name] = value
    configure(settings["log_format"], settings["log_level"])


def _log_options_after_commands(group: click.Group) -> None:
    """Let every command take --log-format and --log-level after its name too (`qa-engine audit ... --log-format json`)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _log_options_after_commands(command)
            continue
        command.params.extend([
            click.Option(["--log-format", "log_format"], type=click.Choice(["auto", "human", "json"]), default=None,
                         expose_value=False, callback=_log_setting,
                         help="Log lines on stderr: human on a terminal, JSON otherwise (auto)."),
            click.Option(["--log-level", "log_level"], type=click.Choice(["debug", "info", "warning", "error"]),
                         default=None, expose_value=False, callback=_log_setting, help="Least severe log line shown."),
        ])


@cli.command()
@click.argument("inputs", nargs=-1)
@click.option("--example", is_flag=True,
              help="Audit the example caseload shipped with qa_engine (37 invented cases), as of its export date "
                   "unless --as-of is given: a first try with nothing else installed.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the run: report.html, report.md, worklist.xlsx and worklist.csv (unless "
                   "--no-report), findings.jsonl, summary.json, rejected.jsonl and run.json. An earlier run there is "
                   "moved aside to OUT.earlier-<time>, whole, when this one completes (see --keep-earlier); a folder "
                   "that is not empty and holds no run is refused.")
@click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Rule folder (default: the shipped SQS rule pack).")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your service's policy file (deadlines, closure days).")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Audit date: judge the work as it stood that day (default today).")
@click.option("--fail-on", type=click.Choice(SEVERITIES), help="Exit 1 if a not-met finding has this severity or higher.")
@click.option("--sample", type=click.IntRange(min=1), help="Audit a random sample of N cases, stratified by order type.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --sample: same seed, same sample.")
@click.option("--no-report", is_flag=True, help="Skip report.md, report.html and the worklists.")
@click.option("--compare", "compare", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="An earlier run's folder: the report shows the change since then. It may be --out itself: "
                   "the run there now, which is then moved aside.")
@click.option("--pseudonymise", is_flag=True,
              help="Replace case and staff ids in every output with keyed pseudonyms (for sharing beyond the team).")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path),
              help=f"File holding the pseudonym key (else the environment variable {ENV_KEY}).")
@_limit_options
@_mapping_option
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the cores available). The output is the same for any number.")
@_judgements_option
@click.option("--max-rejected", type=click.FloatRange(0, 100), default=50, show_default=True, metavar="PERCENT",
              help="Exit 3 (the export could not be read) if more than this percentage of the records is rejected; "
                   "a run that audits no record always exits 3.")
@click.option("--readable-by-group", is_flag=True,
              help="Create the outputs readable by your group too (files 0640, folder 0750); by default they are "
                   "yours alone (0600, 0700).")
@click.option("--keep-earlier", type=click.IntRange(min=0), default=DEFAULT_KEEP_EARLIER, show_default=True,
              metavar="N", help="Earlier runs of --out to keep beside it (OUT.earlier-<time>), the most recent; when "
                                "this run completes an older one is removed, unless a file in it was changed or added "
                                "since.")
def audit(inputs: tuple[str, ...], example: bool, out_dir: Path, rules_dir: Path | None, policy_path: Path | None,
          as_of: str | None, fail_on: str | None, sample: int | None, seed: int, no_report: bool,
          compare: Path | None, pseudonymise: bool, key_file: Path | None, max_record_bytes: int,
          max_depth: int, mapping_path: Path | None, jobs: int | None, judgements: tuple[Path, ...],
          max_rejected: float, readable_by_group: bool, keep_earlier: int) -> None:
    """Audit case records and write the findings and report to --out.

    INPUTS are JSON or JSON Lines files, - for stdin, folders of CSV files, or .xlsx workbooks (read
    through --mapping; a folder in qa_engine's flat layout needs none).
    """
    from qa_engine.exports.raw import Limits
    from qa_engine.judge.batch import default_jobs
    from qa_engine.report import REPORT_FILES
    from qa_engine.rulepack.model import SEVERITY_RANK
    from qa_engine.run.audit import audit as run_audit
    from qa_engine.trust.pseudonyms import load_key

    if example:
        from qa_engine.base.resources import EXAMPLE_AS_OF, example_path

        if inputs:
            raise click.UsageError("give INPUTS or --example, not both")
        inputs = (str(example_path("caseload.jsonl")),)
        as_of = as_of or EXAMPLE_AS_OF
    elif not inputs:
        raise click.UsageError("give the files to audit (INPUTS), or --example to audit the shipped example")
    if judgements:
        from qa_engine.exports.auditform import is_audit_form

        forms = [name for name in inputs if is_audit_form(name)]  # --judgements A.xlsx B.xlsx: B is a form too
        inputs = tuple(name for name in inputs if name not in forms)
        judgements = (*judgements, *(Path(name) for name in forms))
        if not inputs:
            raise click.UsageError("give the files to audit (INPUTS) as well as the audit forms")
    from qa_engine.trust.files import set_readable_by_group

    day = _as_of(as_of) if as_of is not None else None
    set_readable_by_group(readable_by_group)
    with _reported(out_dir):
        key = load_key(key_file) if pseudonymise else None
        mapping = _load_mapping(mapping_path)
        _stop_between_records()
        result = run_audit(list(inputs), out_dir, rules_dir=rules_dir, policy_path=policy_path, as_of=day,
                           sample=sample, seed=seed, report=not no_report, compare=compare,
                           limits=Limits(max_record_bytes, max_depth), pseudonym_key=key,
                           jobs=jobs or default_jobs(), progress=True, mapping=mapping,
                           judgements=list(judgements) or None, max_rejected=max_rejected / 100,
                           keep_earlier=keep_earlier)
    from qa_engine.report.narrative import audit_date_lines

    written = [out_dir / name for name in REPORT_FILES if name in result.run["outputs"]]
    counts = result.counts
    for line in audit_date_lines(result.run):
        click.echo(line)
    click.echo(f"Audited {counts['audited']} of {counts['records_read']} records as of {result.run['as_of']}"
               f" ({counts['rejected']} rejected: see rejected.jsonl).")
    if counts.get("unmatched_rows"):
        rows = counts["unmatched_rows"]
        click.echo(f"  {rows} table {'row' if rows == 1 else 'rows'} joined no case and "
                   f"{'was' if rows == 1 else 'were'} not audited (see rejected.jsonl).")
    for note in result.run.get("dates_held_back") or []:  # once per file and column, not once per row
        click.echo(f"  {note['note']}")
    if counts.get("out_of_scope"):
        named = ", ".join(f"{code} {n}" for code, n in (result.run.get("out_of_scope") or {}).items())
        click.echo(f"  {counts['out_of_scope']} disposals outside the rule pack's scope were not judged ({named}).")
    for crit in result.summary.criteria:
        judged = crit.met + crit.not_met
        share = f"{crit.met} of {judged} cases met" if judged else "no case applicable"
        extra = f", {crit.insufficient_data} with insufficient data" if crit.insufficient_data else ""
        click.echo(f"  {crit.criterion:<4} {crit.title:<40} {share}{extra}")
    cover = result.run.get("coverage")
    if cover:
        from qa_engine.facts.parts import lacks

        unknown = sum(e["rules"] - e["judgeable"] for e in cover["criteria"].values())
        click.echo(f"  This export has {lacks(cover['not_exported'])}: "
                   f"{unknown} checks cannot be judged from it (insufficient data; see report.md).")
    if "not_sampled" in counts:
        click.echo(f"  (a sample of {counts['audited']} stratified by order type, seed {seed}; "
                   f"{counts['not_sampled']} valid records not sampled)")
    _echo_judgements(result)
    extra = "".join(f", {p.name}" for p in written)
    if "judgements" in result.run:
        extra = ", judgements.json" + extra
    click.echo(f"Wrote findings.jsonl, summary.json, rejected.jsonl, run.json{extra} to {out_dir}")
    _echo_earlier(result, f"The earlier run that was in {out_dir}")
    if result.read_too_little:
        look = f" Look in {out_dir / 'rejected.jsonl'}." if result.counts.get("rejected") else ""
        click.echo(f"Error: {result.read_too_little}{look}", err=True)
        sys.exit(EXIT_READ_TOO_LITTLE)
    if fail_on and result.worst_not_met and SEVERITY_RANK[result.worst_not_met] >= SEVERITY_RANK[fail_on]:
        sys.exit(EXIT_FINDINGS)


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--compare", "compare", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="An earlier run's folder: the report shows the change since then.")
@click.argument("more_forms", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_judgements_option
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="With --judgements: worker processes (default: the cores available).")
def report(run_dir: Path, more_forms: tuple[Path, ...], compare: Path | None, judgements: tuple[Path, ...],
           jobs: int | None) -> None:
    """Rebuild report.md, report.html and the worklists from a finished run, without auditing again.

    With --judgements, the run is judged again with the managers' answers from the audit forms (the same
    inputs, audit date, rules, policy and sample), so its findings, summary and report take them in.
    """
    from qa_engine.report import build_report

    if more_forms and not judgements:
        raise click.UsageError("give audit forms after --judgements (qa-engine report RUN_DIR --judgements FORM.xlsx ...)")
    judgements = (*judgements, *more_forms)
    if judgements:
        from qa_engine.judge.batch import default_jobs
        from qa_engine.run.audit import rejudge

        with _reported(run_dir):
            _stop_between_records()
            result = rejudge(run_dir, list(judgements), compare=compare, jobs=jobs or default_jobs(), progress=True)
        _echo_judgements(result)
        click.echo(f"Judged {result.counts['audited']} cases again with the audit forms' answers; wrote findings.jsonl, "
                   f"summary.json, judgements.json and the report to {run_dir}")
        _echo_earlier(result, "The run judged before")
        return
    from qa_engine.run.folder import acquire

    try:
        lock = acquire(run_dir)  # never while an audit is writing (and swapping) this folder
        try:
            written = build_report(run_dir, compare)
        finally:
            lock.release()
    except QAEngineError as exc:
        _fail(exc.message)
        return
    click.echo(f"Wrote {', '.join(p.name for p in written)} to {run_dir}")


@cli.command("audit-form")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The workbook to write (.xlsx); with --split-by, one per value, named FORM-<value>.xlsx.")
@click.option("--split-by", "split_by", type=click.Choice(["case_manager", "team"]),
              help="One workbook per case manager or per team, for each auditor to fill in their own.")
def audit_form(run_dir: Path, out: Path, split_by: str | None) -> None:
    """Write a case-audit workbook from a finished (usually sampled) run: one sheet per case, each criterion's
    questions with the case's data findings beside them, and answer cells (Yes / No / Not applicable).

    Read the answers back with: qa-engine report RUN_DIR --judgements FORM.xlsx
    """
    from qa_engine.report.auditform import write_audit_forms

    with _reported(out):
        written = write_audit_forms(run_dir, out, split_by)  # type: ignore[arg-type]
    for path, cases in written:
        click.echo(f"Wrote {path} ({cases} {'case' if cases == 1 else 'cases'}).")
    click.echo(f"When the answers are in: qa-engine report {run_dir} --judgements "
               + " ".join(str(p) for p, _ in written))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
def verify(run_dir: Path) -> None:
    """Check that a run finished and that none of its outputs has changed since. Exit 1 if not."""
    from qa_engine.trust.verify import verify_run

    if not run_dir.is_dir():
        _fail(f"no such folder: {run_dir} (give the --out folder of a finished audit)")
    result = verify_run(run_dir)
    for name in result.checked:
        click.echo(f"ok       {name}")
    for problem in result.problems:
        click.echo(f"PROBLEM  {problem}")
    for line in result.inputs:
        click.echo(f"input    {line}")
    if result.ok:
        click.echo(f"{run_dir}: complete and unaltered ({len(result.checked)} outputs checked).")
        return
    n = len(result.problems)
    click.echo(f"{run_dir}: NOT verified ({n} {'problem' if n == 1 else 'problems'}).")
    sys.exit(EXIT_FINDINGS)


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write rejected.jsonl to this folder.")
@_limit_options
@_mapping_option
def validate(inputs: tuple[str, ...], out_dir: Path | None, max_record_bytes: int, max_depth: int,
             mapping_path: Path | None) -> None:
    """Check case records against the schema only; list each problem. Exit 1 if any record or row is rejected, 3 if
    no record was read."""
    from qa_engine.exports.raw import Limits
    from qa_engine.run.audit import validate_inputs

    notes: list = []
    try:
        counts, rejections = validate_inputs(list(inputs), out_dir, Limits(max_record_bytes, max_depth),
                                             mapping=_load_mapping(mapping_path), notes=notes)
    except QAEngineError as exc:
        _fail(exc.message)
        return
    _echo_rejections(rejections, notes)
    unmatched = counts.get("unmatched_rows", 0)
    click.echo(f"{counts['valid']} of {counts['records_read']} records valid, {counts['rejected']} rejected"
               + (f"; {unmatched} table {'row' if unmatched == 1 else 'rows'} joined no case." if unmatched else "."))
    if not counts["records_read"]:
        click.echo("No case record was read: is this the right file or folder?", err=True)
        sys.exit(EXIT_READ_TOO_LITTLE)
    if counts["rejected"] or unmatched:
        sys.exit(EXIT_FINDINGS)


@cli.command("export-csv")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for the CSV files, or a file ending .xlsx for one workbook (a sheet per table).")
@_limit_options
@_mapping_option
def export_csv(inputs: tuple[str, ...], out: Path, max_record_bytes: int, max_depth: int,
               mapping_path: Path | None) -> None:
    """Write case records as qa_engine's flat CSV layout (one file per part of the record), readable with no mapping.

    Records that are not valid are listed and left out (exit 1).
    """
    from qa_engine.exports.flat import export_flat
    from qa_engine.exports.raw import Limits

    with _reported(out):
        result = export_flat(list(inputs), out, Limits(max_record_bytes, max_depth), mapping=_load_mapping(mapping_path))
    _echo_rejections(result.rejections, result.held_dates)
    rows = sum(result.rows.values())
    invalid = sum(1 for r in result.rejections if r.kind == "record")
    unmatched = len(result.rejections) - invalid
    click.echo(f"Wrote {result.cases} cases ({rows} rows in {len(result.rows)} tables) to {out}"
               + (f"; {invalid} records not valid, left out" if invalid else "")
               + (f"; {unmatched} table rows joined no case, left out" if unmatched else "") + ".")
    if result.rejections:
        sys.exit(EXIT_FINDINGS)


def _echo_rejections(rejections: list, held_dates: list) -> None:
    """Each problem on a line; a date column held back is said once (with its rows and cases), not on each row."""
    for note in held_dates:
        click.echo(note.describe())
    said = {note.row_reason for note in held_dates}
    for r in rejections:
        for problem, line in zip(r.problems, r.lines(), strict=True):
            if problem.reason not in said:
                click.echo(line)


def _echo_earlier(result, earlier: str) -> None:
    """Where the earlier run went, and which older earlier runs were removed or kept (and why): nothing silently."""
    keep = result.run.get("keep_earlier")
    if result.earlier_moved_to is not None and result.earlier_moved_to not in result.earlier_removed:
        click.echo(f"{earlier} is kept, whole, in {result.earlier_moved_to}.")
    elif result.earlier_moved_to is not None:
        click.echo(f"{earlier} was removed (--keep-earlier {keep}).")
    older = [p for p in result.earlier_removed if p != result.earlier_moved_to]
    if older:
        click.echo(f"Removed {len(older)} older {'run' if len(older) == 1 else 'runs'} (only the {keep} most recent "
                   f"earlier runs are kept; --keep-earlier N to change): {', '.join(str(p) for p in older)}.")
    for path, why in result.earlier_held_back:
        click.echo(f"Kept {path}, older than the {keep} most recent earlier runs, because {why}: delete it yourself "
                   "when it is no longer needed.")


def _echo_judgements(result) -> None:
    """A line on the forms read: answers in, still to judge, disagreements (never a comment)."""
    if "judgements" not in result.run:
        return
    judged = [c.by_judgement for c in result.summary.criteria if c.by_judgement is not None]
    done = sum(j.met + j.not_met + j.not_applicable for j in judged)
    todo = sum(j.insufficient_data for j in judged)
    forms = len(result.run["judgements"]["forms"])
    click.echo(f"  Audit forms read: {forms}; {done} case judgements in, {todo} still to judge"
               " (see judgements.json and the report).")


def _stop_between_records() -> None:
    """A first Ctrl-C stops the run after the current record (cleanly); a second one stops it at once.

    SIGTERM (a service manager or ``kill`` stopping the run) stops it at once, as a second Ctrl-C does:
    the files being written are removed, never left half-written (see ``main``)."""
    import signal

    from qa_engine.run.audit import STOP

    STOP.clear()

    def handler(signum, frame):
        STOP.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        click.echo("Stopping after the current step (press Ctrl-C again to stop at once)...", err=True)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum, frame) -> None:
    raise Terminated


def _internal_error(exc: BaseException) -> None:
    """One sentence on stderr and exit 4; the exception's type and where it was raised go to the debug log.

    The exception's own text is never shown or logged: it may quote a value from the input.
    """
    import structlog

    frames = []
    trace = exc.__traceback__
    while trace is not None:
        code = trace.tb_frame.f_code
        frames.append(f"{code.co_filename}:{trace.tb_lineno} in {code.co_name}")
        trace = trace.tb_next
    structlog.get_logger("qa_engine").debug("internal_error", error=type(exc).__name__, frames=frames)
    click.echo(f"Error: qa-engine stopped on an internal error ({type(exc).__name__}), a bug rather than a problem "
               "with your files; run again with --log-level debug to see where, and report it.", err=True)
    sys.exit(EXIT_INTERNAL)


def _rate(values: tuple[str, ...]) -> dict[str, float]:
    rates = {}
    for value in values:
        name, sep, number = value.partition("=")
        try:
            rates[name.strip()] = float(number)
        except ValueError:
            sep = ""
        if not sep:
            raise click.BadParameter(f"{value!r} is not NAME=NUMBER, e.g. late_assessment=0.3", param_hint="--rate")
    return rates


@cli.command()
@click.option("--cases", type=click.IntRange(min=0), required=True, help="How many case records to generate.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option("--until", "until", metavar="YYYY-MM-DD", help="Export date: nothing is dated after it (default 2016-02-15).")
@click.option("--rate", "rates", multiple=True, metavar="NAME=P",
              help="Rate of one kind of shortfall, 0 to 1 (repeatable), e.g. --rate late_assessment=0.3.")
@click.option("--out", "out", default="-", show_default=True, help="File to write, or - for standard output.")
def generate(cases: int, seed: int, until: str | None, rates: tuple[str, ...], out: str) -> None:
    """Write a realistic synthetic caseload as JSON Lines (no real child is described)."""
    from qa_engine.records.generate import DEFAULT_UNTIL, generate_lines

    day = _as_of(until) if until else DEFAULT_UNTIL
    try:
        lines = generate_lines(cases, seed, day, _rate(rates))
        if out == "-":
            for line in lines:
                sys.stdout.write(line)
        else:
            target = Path(out)
            tmp = target.with_name(target.name + ".partial")
            with tmp.open("w", encoding="utf-8", newline="\n") as handle:
                handle.writelines(lines)
            tmp.replace(target)
    except ValueError as exc:
        _fail(str(exc))


@cli.group()
def rules() -> None:
    """List, lint and test the rule pack."""


_rules_option = click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                             help="Rule folder (default: the shipped SQS rule pack).")


@rules.command("list")
@_rules_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_list(rules_dir: Path | None, fmt: str) -> None:
    """Show every rule: id, criterion, title, basis, severity and parameters."""
    from qa_engine.rulepack.load import load_rules

    try:
        pack = load_rules(rules_dir)
    except QAEngineError as exc:
        _fail(exc.message)
        return
    rows = [
        {
            "id": r.id,
            "criterion": r.criterion,
            "title": r.title,
            "basis": r.basis,
            "severity": r.severity,
            "parameters": {n: {"default": p.default, "status": p.status, "source": p.source}
                           for n, p in r.parameters.items()},
        }
        for r in pack.rules
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['criterion']:<4} {row['id']:<42} {row['severity']:<6} {row['title']}")
        click.echo(f"     basis: {row['basis'].replace('_', ' ')}")
        for name, value in row["parameters"].items():
            click.echo(f"     {name} = {value['default']} (status: {value['status'].replace('_', ' ')}; "
                       f"source: {value['source']})")


@rules.command("lint")
@_rules_option
def rules_lint(rules_dir: Path | None) -> None:
    """Check every rule file, its compilation to durable_rules, that its cases cover every outcome, the
    pack-wide timing checks (nothing due on day one, no met on impossible dates, absence explicit), and
    that every speed hint in outcome-hints.yaml can be used."""
    from qa_engine.judge.packchecks import pack_problems
    from qa_engine.judge.rulecases import coverage_problems
    from qa_engine.rulepack.compile import compile_pack
    from qa_engine.rulepack.load import load_rules

    try:
        pack = load_rules(rules_dir)
        compiled = compile_pack(pack)
        problems = list(pack.hint_problems)
        for rule in pack.rules:
            problems += coverage_problems(rule)
        problems += pack_problems(pack)
    except QAEngineError as exc:
        _fail(exc.message)
        return
    for p in problems:
        click.echo(p)
    click.echo(f"{len(pack.rules)} rules, {len(compiled.rulesets)} durable_rules rulesets, "
               f"{len(problems)} problems.")
    if problems:
        sys.exit(EXIT_FINDINGS)


@rules.command("test")
@_rules_option
def rules_test(rules_dir: Path | None) -> None:
    """Run every rule's own test cases through durable_rules."""
    from qa_engine.judge.rulecases import run_pack_cases
    from qa_engine.rulepack.load import load_rules

    try:
        results = run_pack_cases(load_rules(rules_dir))
    except QAEngineError as exc:
        _fail(exc.message)
        return
    failed = [r for r in results if not r.passed]
    for r in failed:
        click.echo(f"FAIL {r.case.rule_id} {r.case.name}: {r.detail}")
    click.echo(f"rules: {len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        sys.exit(EXIT_FINDINGS)


@cli.group()
def mapping() -> None:
    """Mapping files: how the tables of an export become case records."""


@mapping.command("init")
@click.argument("export", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=Path("mapping.yaml"),
              show_default=True, help="Where to write the starter mapping.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def mapping_init(export: Path, out: Path, force: bool) -> None:
    """Read the headers (and a sample of codes and dates) of the tables in EXPORT, a folder of CSV files or an .xlsx
    workbook, and write a starter mapping: every column it could match, and a TODO for each it could not."""
    from qa_engine.exports.starter import starter_mapping
    from qa_engine.trust.files import write_text

    if out.exists() and not force:
        _fail(f"{out} exists; give --force to overwrite it, or another --out")
        return
    with _reported(out):
        starter = starter_mapping(export)
        write_text(out, starter.text)
    notes = starter.todos - starter.unsettled
    click.echo(f"Wrote {out}: {starter.tables} tables and {starter.columns} columns matched; "
               f"{starter.unsettled} TODOs to settle (a column or code still TODO; `mapping check` counts the same)"
               + (f", and {notes} TODO notes in comments to read, then settle or delete" if notes else "")
               + " (search the file for TODO).")
    click.echo(f"Then check it with: qa-engine mapping check {out}")
    click.echo(f"and then the export with it: qa-engine validate --mapping {out} {export}")


@mapping.command("check")
@click.argument("mapping_file", type=_MappingPath())
def mapping_check(mapping_file: Path) -> None:
    """Check a mapping file against the schema and the case record (every table, field, code and join it names).

    MAPPING_FILE is a file, or the name of a mapping shipped with qa_engine (flat, cld-like, cld-warehouse)."""
    try:
        loaded = _load_mapping(mapping_file)
    except QAEngineError as exc:
        _fail(exc.message)
        return
    click.echo(f"{mapping_file}: valid ({len(loaded.tables)} tables: {', '.join(loaded.tables)}).")


_log_options_after_commands(cli)


def main() -> None:
    """Entry point of the qa-engine command."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli(prog_name="qa-engine", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        if isinstance(exc, Terminated) or isinstance(exc.__cause__, Terminated):  # click turns it into Abort
            click.echo("Stopped by SIGTERM: the run was stopped; its output folder was left as it was before, and no "
                       "half-written file was left.", err=True)
            sys.exit(EXIT_TERMINATED)
        click.echo("Interrupted: the run was stopped; its output folder was left as it was before.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: never exit 1 (--fail-on) or show a traceback that may quote input
        _internal_error(exc)
