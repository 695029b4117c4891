"""The durable_rules compatibility header does what the README says, on every Python here and with gcc and clang."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "build-support" / "durable_rules_compat.h"
# The errors gcc 14 (and recent clang) make by default; Debian 12's gcc 12 only warns.
STRICT = ["-Werror=implicit-function-declaration", "-Werror=incompatible-pointer-types", "-Werror=int-conversion"]
# How durable_rules 2.0.28's src/rulespy/rules.c calls back into Python, at five places.
CALLBACK = """#include <Python.h>
PyObject *callback(PyObject *callback, PyObject *arglist) {
    PyObject *result = PyEval_CallObject(callback, arglist);
    return result;
}
"""


def _interpreters() -> list[tuple[str, str]]:
    """This Python and every pyenv CPython 3.10-3.13 on the machine, by version."""
    found = {".".join(map(str, sys.version_info[:3])): sys.executable}
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if versions.is_dir():
        for path in versions.iterdir():
            if re.fullmatch(r"3\.1[0-3]\.\d+", path.name) and (path / "bin" / "python").exists():
                found.setdefault(path.name, str(path / "bin" / "python"))
    return sorted(found.items())


def _python_include(python: str) -> tuple[tuple[int, int], str]:
    out = subprocess.run([python, "-c", "import json, sys, sysconfig; print(json.dumps([sys.version_info[:2], "
                          "sysconfig.get_paths()['include']]))"], capture_output=True, text=True, check=True).stdout
    version, include = json.loads(out)
    return tuple(version), include


def _cc(compiler: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([compiler, *STRICT, "-std=c99", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow
@pytest.mark.parametrize("compiler", ["gcc", "clang"])
@pytest.mark.parametrize(("version", "python"), _interpreters(), ids=[v for v, _ in _interpreters()])
def test_the_header_lets_durable_rules_callbacks_compile(tmp_path, compiler, version, python):
    """With the header, durable_rules' call compiles under the strict flags: on 3.13 as PyObject_CallObject, before as it was."""
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (CI installs clang with apt)")
    (py_version, include) = _python_include(python)
    if not Path(include, "Python.h").exists():
        pytest.skip(f"Python {version} has no headers at {include}")
    (tmp_path / "rules.c").write_text(CALLBACK)
    with_header = ["-include", str(HEADER), f"-I{include}"]

    compiled = _cc(compiler, *with_header, "-c", "rules.c", "-o", "rules.o", cwd=tmp_path)
    expanded = _cc(compiler, *with_header, "-E", "-P", "rules.c", cwd=tmp_path)
    without_header = _cc(compiler, f"-I{include}", "-c", "rules.c", "-o", "bare.o", cwd=tmp_path)

    assert 0 == compiled.returncode, compiled.stderr
    assert "redefined" not in compiled.stderr  # no clash with CPython's own macro on 3.10-3.12
    call = re.search(r"PyObject \*result = (\w+)\(", expanded.stdout)
    assert call is not None, expanded.stdout[-2000:]
    if py_version >= (3, 13):
        assert "PyObject_CallObject" == call.group(1)
        assert 0 != without_header.returncode  # the header is what makes it build
        assert "PyEval_CallObject" in without_header.stderr
    else:
        assert "PyEval_CallObjectWithKeywords" == call.group(1)  # CPython's own macro, untouched
        assert 0 == without_header.returncode, without_header.stderr


@pytest.mark.slow
@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_the_header_is_a_no_op_without_the_python_headers(tmp_path, compiler):
    """durable_rules' own C library is compiled without the Python headers: there the header must change nothing."""
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (CI installs clang with apt)")
    (tmp_path / "json.c").write_text("#define PyEval_CallObject(a, b) 0\nint parse(void) { return PyEval_CallObject(1, 2); }\n")

    compiled = _cc(compiler, "-include", str(HEADER), "-Werror", "-c", "json.c", "-o", "json.o", cwd=tmp_path)

    assert 0 == compiled.returncode, compiled.stderr
