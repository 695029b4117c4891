"""Trust in outputs: files written whole or not at all, their sha256, keyed pseudonyms, and verifying a finished run.

Takes bytes, ids and a run folder; gives atomic files, hashes, pseudonyms and a verdict. It imports
only qa_engine.base, and must never put a personal value into a log line or an error message.
"""
