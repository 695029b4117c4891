"""Reading YAML safely, for rule files, the criteria catalogue, policies and mappings: one loader, one error shape.

YAML is read with the safe loader only (no tags that build objects); dates become ISO text so every
document is plain JSON data; a syntax error names the file and line. ``suggest`` gives the nearest
valid name for a "did you mean" hint.

Bounded by construction: a file over ``MAX_YAML_BYTES`` is refused before it is parsed, and so is
one whose aliases would expand it past ``MAX_YAML_NODES`` values (an "alias bomb": a kilobyte of
nested ``&a [*b, *b, ...]`` that would take gigabytes), counted on YAML's event stream before
anything is built. An anchor reused a few times (a mapping's code list) is fine.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

import yaml

__all__ = ["MAX_YAML_BYTES", "MAX_YAML_NODES", "TextKeyLoader", "load_yaml", "suggest"]

MAX_YAML_BYTES = 1_000_000
"""A rule, criteria, policy or mapping file is at most this many bytes (the largest shipped one is under 20 KB)."""
MAX_YAML_NODES = 200_000
"""A YAML document holds at most this many values once its aliases are expanded (the shipped ones hold a few
thousand)."""

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


def _expanded_size(text: str) -> int:
    """How many values the document holds with every alias expanded, counted from YAML's events (nothing is built);
    stops counting once past MAX_YAML_NODES."""
    anchored: dict[str, int] = {}
    frames: list[list[Any]] = [[None, 0]]  # [anchor, values so far] per open collection; the outermost is the stream
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            frames[-1][1] += anchored.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                anchored[event.anchor] = 1
            frames[-1][1] += 1
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            frames.append([event.anchor, 1])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, size = frames.pop()
            if anchor:
                anchored[anchor] = size
            frames[-1][1] += size
        if sum(frame[1] for frame in frames) > MAX_YAML_NODES:
            return MAX_YAML_NODES + 1
    return frames[0][1]


def load_yaml(path: Path, error: type[Exception], loader: Any = None) -> Any:
    """Read one YAML document with the safe loader (or ``loader``); a syntax error names the file and line.

    Raises:
        ``error``: the file cannot be read, is over MAX_YAML_BYTES, expands past MAX_YAML_NODES values through its
            aliases, or is not valid YAML.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_YAML_BYTES + 1)
        if len(data) > MAX_YAML_BYTES:
            msg = f"{path}: over {MAX_YAML_BYTES:,} bytes, the most a rule, policy or mapping file may be"
            raise error(msg)
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise error(msg) from exc
    try:
        if "*" in text and _expanded_size(text) > MAX_YAML_NODES:
            msg = (f"{path}: its aliases (*name) would expand it to over {MAX_YAML_NODES:,} values: refused (a YAML "
                   "alias bomb?); write the values out, or reuse an anchor only a few times")
            raise error(msg)
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
