"""qa_engine: rules-based quality assurance of youth offending casework against the inspectorate's SQS criteria."""

from __future__ import annotations

from qa_engine.base.errors import ConfigError, EngineError, PolicyError, QAEngineError, RuleError
from qa_engine.base.version import __version__
from qa_engine.judge.auditor import Auditor
from qa_engine.judge.findings import Finding, Summary
from qa_engine.judge.phrases import describe_proportion
from qa_engine.records.model import CaseRecord
from qa_engine.rulepack.load import load_policy, load_rules
from qa_engine.rulepack.model import Policy, RulePack
from qa_engine.run.audit import AuditResult, audit, validate_inputs

__all__ = [
    "AuditResult",
    "Auditor",
    "CaseRecord",
    "ConfigError",
    "EngineError",
    "Finding",
    "Policy",
    "PolicyError",
    "QAEngineError",
    "RuleError",
    "RulePack",
    "Summary",
    "__version__",
    "audit",
    "describe_proportion",
    "load_policy",
    "load_rules",
    "validate_inputs",
]
