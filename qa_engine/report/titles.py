"""The one name of a run's report, which every file that heads it uses: report.md, report.html, the worklists and the
case-audit form.

Why this module exists: each output used to word its own heading ("Draft SQS self-assessment", "Draft
self-assessment against the SQS criteria", "Draft: self-assessment of youth offending work in ..."), so a manager
holding the page, the letter, a worklist and a form could not tell they were the same run's. One function names it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_SERVICE", "report_title", "service_name"]

DEFAULT_SERVICE = "the youth offending service"
"""The service's name when the policy gives none."""


def service_name(run: dict[str, Any]) -> str:
    """The service audited, as the run's policy names it (``service:``), else DEFAULT_SERVICE."""
    return (run.get("policy") or {}).get("service") or DEFAULT_SERVICE


def report_title(run: dict[str, Any]) -> str:
    """'Short Quality Screening self-assessment: Example YOS, as of 2016-02-15': the service and the audit date of
    ``run`` (a run.json), as plain text; each output escapes it its own way."""
    return f"Short Quality Screening self-assessment: {service_name(run)}, as of {run.get('as_of')}"
