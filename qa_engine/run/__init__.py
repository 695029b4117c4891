"""Stage 6, a run: input files, rules, policy and an audit date in; a run folder out (findings, report, run.json...).

Streams records through the judge, keeps duplicates and the sample, counts, writes every output
under a temporary name and run.json last. It must never leave a half-written output looking complete.
"""
