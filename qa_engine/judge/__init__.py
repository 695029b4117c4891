"""Stage 4, judge: compiled rulesets and each case's facts in; one finding per case and rule out, and the summary.

The only stage that may import durable_rules, and only in durable_adapter.py. Also runs batches
across worker processes, each rule's own cases, and reduces firings to findings with their counts.
It must never write a run's files or decide what is shown to whom.
"""
