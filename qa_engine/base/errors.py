"""Exceptions factored out so every layer can raise them and the CLI can map them to exit codes.

The tree::

    * QAEngineError                 (root; carries .message)
      x ConfigError                 (exit code 2)
        + RuleError                 (a rule file cannot be used)
          + RuleSchemaError         (YAML fails schemas/rule.schema.json, or is not YAML)
          + RuleCompileError        (valid YAML, but names an unknown fact or breaks an engine limit)
        + PolicyError               (policy file invalid, unknown rule id or parameter)
        + MappingError              (a mapping file cannot be used)
        + InputError                (an input file or export cannot be read, or a limit is exceeded)
      x EngineError                 (durable_rules misbehaved; a bug, never the user's fault)
        + EngineLimitError          (a durable_rules hard limit was hit at run time)
        + OutcomeInvariantError     (a rule gave a case no outcome, or more than one)

Invalid *records* are not exceptions: they become rows of rejected.jsonl (see records.Rejection),
so one bad record never stops a batch.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConfigError",
    "EngineError",
    "EngineLimitError",
    "InputError",
    "MappingError",
    "OutcomeInvariantError",
    "PolicyError",
    "QAEngineError",
    "RuleCompileError",
    "RuleError",
    "RuleSchemaError",
]


class QAEngineError(Exception):
    """Root of every error qa_engine raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        """A full sentence for the user: what is wrong and where."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigError(QAEngineError):
    """Something the user supplied (rules, policy, options, files) cannot be used."""


class RuleError(ConfigError):
    """A rule file cannot be used."""

    def __init__(self, message: str, *, path: Path | None = None, rule_id: str | None = None) -> None:
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{message}")
        self.path = path
        """The rule file at fault, when known."""
        self.rule_id = rule_id
        """The rule's id, when it could be read."""


class RuleSchemaError(RuleError):
    """A rule file is not YAML or does not match schemas/rule.schema.json."""


class RuleCompileError(RuleError):
    """A rule is well-formed but cannot be compiled to durable_rules."""


class PolicyError(ConfigError):
    """A policy file is invalid or names a rule or parameter that does not exist."""


class InputError(ConfigError):
    """An input file cannot be opened or read at all (records inside it are judged one by one)."""


class EngineError(QAEngineError):
    """durable_rules did something it should not, or refused one case's facts.

    Raised while judging one case, it rejects that case only (the batch goes on); ``reason`` then says
    why in the export's terms when it is known (``enforcement action E-1 appears twice``).
    """

    reason: str | None = None


class EngineLimitError(EngineError):
    """A durable_rules hard limit was reached while evaluating."""


class OutcomeInvariantError(EngineError):
    """A rule gave a case no outcome or several, which the compiler is meant to make impossible."""


class MappingError(ConfigError):
    """A mapping file (how an export's tables become case records) cannot be used."""
