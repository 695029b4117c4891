"""Data the program reads, shipped inside the package: rules, schemas, mappings and examples (no code).

In the repository these are the top-level folders rules/, schemas/, mappings/ and examples/, the one
source; pyproject.toml maps each to a package here (``qa_engine.shipped.rules`` and so on), so a wheel
carries them. Read them through qa_engine.base.resources, never by a path.
"""
