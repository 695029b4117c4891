"""Stage 5, the report: a finished run's folder in; report.md, report.html and the worklists out.

Takes findings.jsonl, summary.json and run.json as written by a run (never the input records) and
writes the files a manager reads: a draft in the inspectorate's words, one self-contained page, and
worklists per case manager. It must never judge a case, change a finding, or show free text unescaped.
"""

from __future__ import annotations

from qa_engine.report.build import DATA_FILES, JUDGEMENT_FILES, OUTPUTS, REPORT_FILES, RunData, build_report, load_run

__all__ = ["DATA_FILES", "JUDGEMENT_FILES", "OUTPUTS", "REPORT_FILES", "RunData", "build_report", "load_run"]
