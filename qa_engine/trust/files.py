"""Writing outputs completely or not at all (a temporary name, then a rename), and hashing them for run.json."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["AtomicFile", "json_line", "make_folder", "set_readable_by_group", "sha256_file", "write_bytes", "write_json",
           "write_text"]

_MODES = {"file": 0o600, "folder": 0o700}
"""Outputs are the owner's only (children's data): files 0600, a run folder 0700 (see set_readable_by_group)."""


def set_readable_by_group(readable: bool) -> None:
    """Create outputs readable by the owner's group too (files 0640, folders 0750), or the owner's only (the default)."""
    _MODES.update({"file": 0o640, "folder": 0o750} if readable else {"file": 0o600, "folder": 0o700})


def make_folder(path: Path) -> None:
    """Create ``path`` (and its parents) if missing; a folder created here gets the output folder mode. An existing
    folder keeps its mode (it may be someone's home)."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, _MODES["folder"])


def _open_new(path: Path, binary: bool, **kwargs: Any) -> Any:
    """Open ``path`` for writing, created (or truncated) with the output file mode, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), _MODES["file"])
    if hasattr(os, "fchmod"):
        os.fchmod(fd, _MODES["file"])
    return os.fdopen(fd, "wb" if binary else "w", **kwargs)


class AtomicFile:
    """Lines written to NAME.partial, renamed to NAME only by ``commit``, so no half-written file looks finished."""

    def __init__(self, path: Path, encoding: str = "utf-8", newline: str = "\n") -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".partial")
        self.handle = _open_new(self.tmp, binary=False, encoding=encoding, newline=newline)

    def write_line(self, text: str) -> None:
        self.handle.write(text + "\n")

    def write(self, text: str) -> None:
        """Text as it is, no newline added (a page written a piece at a time)."""
        self.handle.write(text)

    def write_encoded(self, data: bytes) -> None:
        """Lines already encoded in the file's encoding, each ending in a newline, written as they are."""
        self.handle.flush()  # after any text written before
        self.handle.buffer.write(data)

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.tmp, self.path)

    def abandon(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


def json_line(model: Any) -> str:
    """A pydantic model as one JSON Lines line (no newline): how findings and rejections are written."""
    return json.dumps(model.model_dump(mode="json"), ensure_ascii=False)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via ``path.partial`` and an atomic rename."""
    tmp = path.with_name(path.name + ".partial")
    try:
        with _open_new(tmp, binary=True) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:  # an error, Ctrl-C or SIGTERM: never leave a half-written file
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> Path:
    """Write indented JSON atomically."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def sha256_file(path: Path) -> str:
    """The file's sha256, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
