"""Build the frozen single-file qa-engine executable with PyInstaller.

    python3 build-support/build_executable.py [--dist DIR] [--work DIR] [-- EXTRA_PYINSTALLER_ARGS...]

Run it from anywhere with the Python the executable should carry (3.10-3.13). It makes a fresh
build venv (WORK/venv), installs qa_engine from this checkout with its `freeze` extra (PyInstaller,
from the package index) into it, building durable-rules from source with the project's
compatibility header (build-support/durable_rules_compat.h, needed on Python 3.13), runs
PyInstaller, and checks that the result starts and finds its rule pack. The executable is
DIST/qa-engine (qa-engine.exe on Windows); it needs no Python on the machine that runs it.

Proven on Linux x86_64 only; on Windows and macOS this script is the intended route but unproven.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HEADER = HERE / "durable_rules_compat.h"
ENTRY = HERE / "frozen_entry.py"

# What PyInstaller's import analysis cannot see by itself.
COLLECT = [
    "--collect-data", "qa_engine",                  # rules, criteria, schemas, mappings, templates, example
    "--collect-submodules", "qa_engine",
    "--collect-submodules", "holidays",             # country modules are imported lazily, by name
    "--collect-data", "holidays",                   # its translations
    "--collect-data", "jsonschema_specifications",  # the JSON Schema metaschemas, read as files
    "--collect-submodules", "durable",              # durable_rules' Python side; its C extension is imported by it
    "--hidden-import", "durable_rules_engine",
    "--copy-metadata", "qa-engine",                 # run.json records the installed versions
    "--copy-metadata", "durable_rules",
]


def _venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(cmd: list[str | os.PathLike[str]], **kwargs) -> None:
    print("+", " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def build_environment() -> dict[str, str]:
    """The environment for pip: durable-rules' C files get the compatibility header force-included.

    durable_rules' setup.py overwrites CFLAGS, so the header goes in CPPFLAGS, which setuptools
    adds to every compile (gcc and clang). MSVC reads extra options from CL instead (unproven).
    """
    env = dict(os.environ)
    if os.name == "nt":
        env["CL"] = f'/FI"{HEADER}" {env.get("CL", "")}'.strip()
    else:
        env["CPPFLAGS"] = f"{env.get('CPPFLAGS', '')} -include '{HEADER}'".strip()
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the executable goes (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "freeze", help="build venv and PyInstaller work folder")
    parser.add_argument("extra", nargs="*", help="after --: extra PyInstaller arguments")
    args = parser.parse_args(argv)
    dist, work = args.dist.resolve(), args.work.resolve()
    started = time.monotonic()

    venv_dir = work / "venv"
    print(f"build venv {venv_dir} (Python {sys.version.split()[0]})", flush=True)
    venv.EnvBuilder(clear=True, with_pip=True).create(venv_dir)
    python = _venv_python(venv_dir)
    # --no-cache-dir: pip's wheel cache may hold a durable-rules wheel built without the header
    # (it imports, then fails on Python 3.13), and would reuse it whatever the flags say.
    _run([python, "-m", "pip", "install", "--no-cache-dir", f"{ROOT}[freeze]"], env=build_environment(), cwd=work)
    installed = time.monotonic()

    name = "qa-engine"
    _run([python, "-m", "PyInstaller", "--noconfirm", "--clean", "--onefile", "--name", name,
          "--distpath", dist, "--workpath", work / "pyinstaller", "--specpath", work,
          *COLLECT, *args.extra, ENTRY], cwd=work)
    frozen = time.monotonic()

    exe = dist / (name + (".exe" if os.name == "nt" else ""))
    _run([exe, "--version"])
    _run([exe, "rules", "list", "--format", "json"], stdout=subprocess.DEVNULL)
    print(f"built {exe} ({exe.stat().st_size / 1e6:.1f} MB): install {installed - started:.0f} s, "
          f"PyInstaller {frozen - installed:.0f} s, total {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
