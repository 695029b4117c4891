"""Data only: marks this folder as the package qa_engine.shipped.rules (see pyproject.toml)."""
