"""Writing report files completely or not at all: a temporary name, then a rename."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_bytes", "write_text"]


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via ``path.partial`` and an atomic rename."""
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return write_bytes(path, text.encode("utf-8"))
