"""Reading YAML safely, for rule files, the criteria catalogue, policies and mappings: one loader, one error shape.

YAML is read with the safe loader only (no tags that build objects); dates become ISO text so every
document is plain JSON data; a syntax error names the file and line. ``suggest`` gives the nearest
valid name for a "did you mean" hint.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

import yaml

__all__ = ["TextKeyLoader", "load_yaml", "suggest"]

try:  # the C loader is faster; both are safe loaders
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader


def _unique_keys(node: Any) -> None:
    """Refuse a key written twice in one mapping: YAML would keep the last and silently drop the first (a mapping's
    second ``contacts`` table, a rule's second ``expects``)."""
    if not isinstance(node, yaml.MappingNode):
        return
    seen: dict[str, Any] = {}
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value != "<<":
            if key.value in seen:
                first = seen[key.value].line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key.value!r} is written twice in the same place (first at line {first}); only one "
                    "can be kept, so neither is: remove or rename one", key.start_mark)
            seen[key.value] = key.start_mark


class _Loader(_Base):
    """The safe loader, refusing a key written twice in one mapping."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        _unique_keys(node)
        return super().construct_mapping(node, deep=deep)


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings so every loaded document is plain JSON data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


class TextKeyLoader(yaml.SafeLoader):
    """The safe loader, but every plain key stays the text it was written as: a mapping's code ``Yes`` or ``01`` is
    "Yes" and "01", never true or 1 (YAML 1.1 would read them so)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        _unique_keys(node)
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        out = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(None, None, "found a key that is not plain text", key.start_mark)
            out[key.value] = self.construct_object(value, deep=True)
        return out


TextKeyLoader.add_constructor("tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node, deep=True))


def load_yaml(path: Path, error: type[Exception], loader: Any = None) -> Any:
    """Read one YAML document with the safe loader (or ``loader``); a syntax error names the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise error(msg) from exc
    try:
        return _plain(yaml.load(text, Loader=loader or _Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"{path}: not valid YAML{where}: {problem}"
        raise error(msg) from exc
    except RecursionError as exc:
        msg = f"{path}: YAML nests too deeply (or refers to itself)"
        raise error(msg) from exc


def suggest(name: str, candidates: Any) -> str:
    """' (did you mean X?)' for the nearest candidate, or ''."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""
