"""Data only: marks this folder as the package qa_engine.shipped.mappings (see pyproject.toml)."""
