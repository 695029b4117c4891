"""Foundations every stage may use: errors, the version, packaged resources, safe YAML, the working-day calendar, logging.

Takes nothing from the pipeline and gives plain helpers. It must never import any other part of
qa_engine: everything else imports down to here.
"""
