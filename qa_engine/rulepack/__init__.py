"""Stage 3, the rule pack: rule files, the criteria catalogue and a policy in; checked rules compiled for durable_rules out.

Loads YAML safely, validates it against the schemas, resolves parameters and compiles each rule to
durable_rules' JSON ruleset form (data only). It must never evaluate anything or import durable_rules:
a rule file is data, never Python.
"""
