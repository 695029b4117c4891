"""Run folders: a new run is built beside the earlier one and takes its place only when complete.

Why this module exists: an audit must never destroy the run already in its ``--out`` folder (the one
``--compare`` needs), never mix its outputs with a second audit's, and never delete a file it did
not write. The protocol:

1. ``--out`` is checked before anything is touched: not a system root, no input inside it, and, when it
   is not empty, it must hold a qa_engine run (a ``run.json``), else the audit is refused naming it.
2. A lock (``.NAME.qa-engine.lock`` beside the folder, an OS file lock released if the process dies)
   admits one audit per folder; a second one is refused at once, naming the holder's pid and start time.
3. The new run is written into a hidden sibling folder, ``.NAME.qa-engine-new``. An interrupted or
   killed run leaves ``--out`` exactly as it was (a killed run's sibling is cleared by the next audit).
4. When the new run is complete, the earlier run moves aside, whole, to ``NAME.earlier-YYYYMMDD-HHMMSS``
   (the time the earlier run started, UTC), and the new one is renamed to ``NAME``.
5. Then the earlier runs beyond the ``keep_earlier`` most recent (default DEFAULT_KEEP_EARLIER) are removed,
   each only if it holds nothing but the files its run wrote, unchanged (run.json lists them with their
   sha256); one with a file changed or added since is kept, and the caller is told which and why.

Moving the earlier run aside (rather than replacing it) is chosen so that a manager's own edits of
``report.md``, and any earlier run ``--compare`` may want again, are never lost; keeping only the most
recent few is chosen so that a run repeated daily into the same folder does not fill the disk.

The lock is an OS lock on that file, so a run that crashed or was killed never blocks the next one (a build
folder it left is cleared by the next audit into the same folder). On Windows, where a dot-file is not
hidden, filelock removes the lock file when the lock is released; elsewhere the empty, hidden file stays
(removing it there could let two audits each lock a different file of the same name).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from qa_engine.base.errors import InputError
from qa_engine.trust.files import make_folder, sha256_file, write_json
from qa_engine.trust.verify import DIGEST_FIELD, run_digest

__all__ = ["DEFAULT_KEEP_EARLIER", "RunFolder", "RunFolderError", "acquire", "check_out", "earlier_runs", "is_run",
           "lock_path", "open_run_folder"]

DEFAULT_KEEP_EARLIER = 3
"""Earlier runs kept beside a run folder (``NAME.earlier-...``), the most recent first, when a new run completes
(--keep-earlier). A setting of qa_engine: enough to --compare with the last few runs of a folder audited daily."""

_EARLIER = re.compile(r"\.earlier-(\d{8}-\d{6})(?:-(\d+))?")

SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr",
                  "/var")
"""POSIX system folders refused as --out (besides any filesystem root, such as / or C:\\, and the home folder)."""


class RunFolderError(InputError):
    """--out cannot be used: not a run folder, a system folder, holding an input, or being written (exit 2)."""


def is_run(folder: Path) -> bool:
    """Whether ``folder`` holds a qa_engine run: a run.json that is a JSON object with a ``complete`` key."""
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(run, dict) and "complete" in run


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def check_out(out: Path, inputs: list[str]) -> None:
    resolved = out.resolve()
    home = Path.home().resolve()
    windows = Path(os.environ.get("SYSTEMROOT", "C:/Windows")).resolve() if os.name == "nt" else None
    if resolved == resolved.parent or str(resolved) in SYSTEM_FOLDERS or resolved in (home, windows):
        msg = f"--out {out} is a system or home folder; give a new folder for the run, e.g. --out audit-2016-02-15"
        raise RunFolderError(msg)
    for name in inputs:
        if name == "-":
            continue
        source = Path(name).resolve()
        if source == resolved or resolved in source.parents:
            msg = f"the input {name} is inside the output folder {out}; give an --out folder that holds no input"
            raise RunFolderError(msg)
    if out.exists() and not out.is_dir():
        msg = f"--out {out} is a file, not a folder"
        raise RunFolderError(msg)
    if out.is_dir() and any(out.iterdir()) and not is_run(out):
        msg = (f"{out} is not empty and holds no qa-engine run (no run.json); nothing was written. "
               "Give a new or empty folder for --out")
        raise RunFolderError(msg)


@dataclass
class RunFolder:
    """A locked run folder being written: ``build`` is where the outputs go until ``commit`` swaps it in."""

    out: Path
    build: Path
    lock: FileLock
    started_at: str
    keep_earlier: int = DEFAULT_KEEP_EARLIER
    """Earlier runs kept beside ``out`` when this run completes (see ``prune``)."""
    moved_to: Path | None = None
    """Where the earlier run was moved by ``commit`` (None if there was none)."""
    committed: bool = False
    """Set once the new run is complete and ``commit`` began: from then on it is never removed."""
    removed: list[Path] = field(default_factory=list)
    """Earlier runs ``commit`` removed, beyond the ``keep_earlier`` most recent."""
    held_back: list[tuple[Path, str]] = field(default_factory=list)
    """Earlier runs beyond the ``keep_earlier`` most recent that ``commit`` kept, each with why (a file changed)."""

    def commit(self) -> Path | None:
        """Move the earlier run aside (if any), put the finished new run in its place, then ``prune``.

        Raises:
            RunFolderError: the earlier run could not be moved (a file in it open, say); the new run is left
                complete in ``build`` and the message says where.
        """
        self.committed = True
        if self.out.exists():
            target = _earlier_name(self.out)
            try:
                self.out.rename(target)
            except OSError as exc:
                msg = (f"could not move the earlier run in {self.out} aside ({exc.strerror or exc}; is one of its "
                       f"files open?); the new run is complete in {self.build}")
                raise RunFolderError(msg) from exc
            self.moved_to = target
        self.build.rename(self.out)
        self.prune()
        return self.moved_to

    def prune(self) -> None:
        """Remove the earlier runs beyond the ``keep_earlier`` most recent, each only when it holds nothing but the
        files its run wrote, unchanged; any other is kept, with why, in ``held_back``. A run being removed is first
        renamed to a hidden name, so a removal cut short never leaves a half-deleted run in view (the next prune
        finishes it). Never raises: the new run is already complete."""
        for left in self.out.parent.glob(f".{glob_escape(self.out.name)}.earlier-*.qa-engine-removing"):
            shutil.rmtree(left, ignore_errors=True)
        for folder in earlier_runs(self.out)[self.keep_earlier:]:
            why = _changed_since_run(folder)
            if why is None:
                going = folder.with_name(f".{folder.name}.qa-engine-removing")
                try:
                    folder.rename(going)
                except OSError as exc:
                    why = f"it could not be removed ({exc.strerror or exc}; is one of its files open?)"
                else:
                    shutil.rmtree(going, ignore_errors=True)
                    self.removed.append(folder)
                    continue
            self.held_back.append((folder, why))

    def abandon(self) -> None:
        """Remove the unfinished new run; the earlier run in ``out`` is untouched."""
        shutil.rmtree(self.build, ignore_errors=True)

    def release(self) -> None:
        self.lock.release()


def earlier_runs(out: Path) -> list[Path]:
    """The earlier runs of run folder ``out`` (the folders ``NAME.earlier-YYYYMMDD-HHMMSS[-N]`` beside it), the most
    recent first (by the time each started; never a link)."""
    found = []
    prefix = f"{out.name}.earlier-"
    for path in out.parent.iterdir() if out.parent.is_dir() else ():
        match = _EARLIER.fullmatch(path.name[len(out.name):]) if path.name.startswith(prefix) else None
        if match and path.is_dir() and not path.is_symlink():
            found.append(((match[1], int(match[2] or 1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def _changed_since_run(folder: Path) -> str | None:
    """Why the earlier run in ``folder`` must be kept (a file in it changed or added since its run, or its run.json
    not that of a complete run), or None when it holds only the files its run wrote, unchanged."""
    try:
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "its run.json cannot be read"
    if not isinstance(run, dict) or run.get("complete") is not True or not isinstance(run.get("outputs"), dict):
        return "its run.json is not that of a complete run"
    outputs = run["outputs"]
    if DIGEST_FIELD in run and run[DIGEST_FIELD] != run_digest(run):
        return "run.json was changed since that run"
    for path in sorted(folder.iterdir()):
        if path.name == "run.json":
            continue
        if path.name not in outputs or path.is_symlink() or not path.is_file():
            return f"it holds {path.name}, which that run did not write"
        if sha256_file(path) != outputs[path.name]:
            return f"{path.name} was changed since that run"
    return None


def _earlier_name(out: Path) -> Path:
    stamp = None
    try:
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
        stamp = dt.datetime.fromisoformat(str(run.get("started_at", "")).replace("Z", "+00:00"))
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    if stamp is None:
        try:
            stamp = dt.datetime.fromtimestamp((out / "run.json").stat().st_mtime, dt.timezone.utc)
        except OSError:
            stamp = dt.datetime.now(dt.timezone.utc)
    base = f"{out.name}.earlier-{stamp.strftime('%Y%m%d-%H%M%S')}"
    target, n = out.with_name(base), 1
    while target.exists():
        n += 1
        target = out.with_name(f"{base}-{n}")
    return target


def _holder(build: Path) -> str:
    try:
        run = json.loads((build / "run.json").read_text(encoding="utf-8"))
        return f"pid {run['pid']}, started {run['started_at']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its pid not yet recorded"


def lock_path(out: Path) -> Path:
    """The lock file of run folder ``out``: beside it, so it outlives the folder's swap."""
    return out.with_name(f".{out.name}.qa-engine.lock")


def acquire(out: Path) -> FileLock:
    """Take the run folder's lock at once, or refuse naming the run that holds it.

    Raises:
        RunFolderError: another qa-engine process is writing ``out``.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(out)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        holder = _holder(out.with_name(f".{out.name}.qa-engine-new"))
        msg = f"another qa-engine run ({holder}) is writing {out}; wait for it to finish, or choose another --out"
        raise RunFolderError(msg) from None
    return lock


def open_run_folder(out: Path | str, inputs: list[str], keep_earlier: int = DEFAULT_KEEP_EARLIER) -> RunFolder:
    """Check ``out``, lock it and prepare the sibling folder the new run is written into (``keep_earlier``: see
    ``RunFolder.prune``).

    Raises:
        RunFolderError: see ``check_out`` and ``acquire``.
    """
    out = Path(out)
    if out.name in ("", ".", ".."):
        out = out.resolve()
    check_out(out, inputs)
    lock = acquire(out)
    try:
        check_out(out, inputs)  # again, now that no other audit can change it
        build = out.with_name(f".{out.name}.qa-engine-new")
        if build.exists():  # left by a run that was killed: ours, and incomplete
            shutil.rmtree(build)
        make_folder(build)  # the owner's only (0700) unless --readable-by-group
        started = _now()
        info: dict[str, Any] = {"complete": False, "note": "this run has not finished; its outputs are incomplete",
                                "pid": os.getpid(), "started_at": started, "out": str(out)}
        write_json(build / "run.json", info)
    except BaseException:
        lock.release()
        raise
    return RunFolder(out, build, lock, started, keep_earlier)
