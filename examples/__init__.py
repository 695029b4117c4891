"""Data only: marks this folder as the package qa_engine.shipped.examples (see pyproject.toml)."""
