"""Data only: marks this folder as the package qa_engine.shipped.schemas (see pyproject.toml)."""
