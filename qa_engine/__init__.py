"""qa_engine: rules-based quality assurance of youth offending casework against the inspectorate's SQS criteria."""

from __future__ import annotations

__version__ = "0.1.0"

from qa_engine.engine import Auditor, AuditResult, audit, validate_inputs
from qa_engine.errors import ConfigError, EngineError, PolicyError, QAEngineError, RuleError
from qa_engine.findings import Finding, Summary
from qa_engine.phrases import describe_proportion
from qa_engine.records import CaseRecord
from qa_engine.rules import Policy, RulePack, load_policy, load_rules

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
