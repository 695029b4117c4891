"""Stage 2, derive facts: a validated case record and an audit date in; the small flat values rules test out.

Working days, months, counts and levels, judged as of the audit date (``derive``), and the fact
catalogue that rule files may name. It must never evaluate a rule or import durable_rules.
"""
