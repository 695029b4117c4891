"""Stage 1, read and validate: export files (JSON, JSON Lines, CSV folders, workbooks, through a mapping) in; records out.

Gives each record with where it came from (``RawRecord``), validated into a ``CaseRecord`` or rejected
with file, row, column and reason; also writes the flat layout (export-csv) and drafts mappings.
It must never drop a record silently, guess an ambiguous value, or judge a case.
"""
