"""Reading a template file fast: CloudFormation YAML through libyaml, and a JSON cache of the parsed result.

A one-shot `invoke` reads the template on every run. Importing PyYAML costs about 10 ms and its pure-Python
loader about 2 ms more per template, a sixth of the whole command; so:

- YAML is parsed with a subclass of libyaml's `CSafeLoader` when PyYAML was built with it (else `SafeLoader`),
  with the same CloudFormation short-form tag constructors and the same resolvers (no timestamps) either way;
- the parsed data is kept as JSON in the runner package's own `__pycache__/` (never in the project's files),
  keyed by the template's absolute path, modification time (ns) and size, and by `FORMAT`. The next run
  reads that with `json` (imported anyway) and does not import PyYAML at all.

The cache holds one template: a project has one, and a single slot cannot grow. It is written only when it is
safe to trust: data made of JSON's own types (str keys; str, int, float, bool, None, list, dict values) so that
it reads back identical, and a template last modified more than `SETTLE_S` seconds ago, so that an edit within
the file system's timestamp granularity cannot hide behind an unchanged (mtime, size) key. The file is written
to a temporary name and renamed, so concurrent runs see the old entry or the new one, never half of one. Any
problem with the cache (read-only package, `PYTHONDONTWRITEBYTECODE`, a corrupt file) falls back to parsing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any

FORMAT = 1  # bump when the loader's output for the same text changes
SETTLE_S = 2.0
CACHE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__", "template-cache.json")

_loaders: dict[bool, type] = {}  # by "is built on libyaml"


class InvalidYaml(ValueError):
    """The text is not YAML: `problem` says why, `line` (1-based) where, when PyYAML knows."""

    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def _construct_tag(loader: Any, tag_suffix: str, node: Any) -> dict[str, Any]:
    """`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`..."""
    import yaml

    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


def cfn_loader(*, use_libyaml: bool = True) -> type:
    """The loader class: CloudFormation's short-form tags, and `2010-09-09` read as a string, not a date.

    Built on first use so that importing this module does not import PyYAML.
    """
    import yaml

    with_c = bool(use_libyaml and getattr(yaml, "__with_libyaml__", False))
    if with_c in _loaders:
        return _loaders[with_c]
    base = yaml.CSafeLoader if with_c else yaml.SafeLoader
    loader = type("CfnLoader", (base,), {"__doc__": "A safe YAML loader for CloudFormation templates."})
    loader.add_multi_constructor("!", _construct_tag)
    loader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _loaders[with_c] = loader
    return loader


def parse_yaml(text: str) -> Any:
    """Parse template text into plain Python data; `InvalidYaml` when it is not YAML."""
    import yaml

    try:
        return yaml.load(text, Loader=cfn_loader())  # noqa: S506 - a SafeLoader/CSafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidYaml(str(getattr(exc, "problem", None) or exc), mark.line + 1 if mark else None) from None


def _json_faithful(value: Any) -> bool:
    """Whether `value` reads back from JSON exactly as it is (no int keys, dates, bytes, sets...)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _json_faithful(item) for key, item in value.items())
    if kind is list:
        return all(_json_faithful(item) for item in value)
    return kind in (str, int, float, bool) or value is None


def _key(path: str, info: os.stat_result) -> list[Any]:
    return [FORMAT, path, info.st_mtime_ns, info.st_size]


def read_cached(path: str, info: os.stat_result) -> Any:
    """The cached data of the template at `path` (absolute) in the state `info`, or None."""
    try:
        with open(CACHE_PATH, encoding="utf-8") as cache:
            entry = json.load(cache)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != _key(path, info):
        return None
    return entry.get("data")


def write_cached(path: str, info: os.stat_result, data: Any) -> bool:
    """Keep `data` for the next run when that is safe (see the module docstring); whether it was written."""
    if sys.dont_write_bytecode or time.time() - info.st_mtime < SETTLE_S or not _json_faithful(data):
        return False
    temporary = f"{CACHE_PATH}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(CACHE_PATH), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as cache:
            json.dump({"key": _key(path, info), "data": data}, cache)
        os.replace(temporary, CACHE_PATH)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True
