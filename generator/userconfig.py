"""The user's config file: default answers, named presets, extra blueprints, and the sources trusted to run code.

One TOML file per user (`SLSGEN_CONFIG` names another), read once per command. It is only data: values are
checked against a blueprint's questions when they are applied (`defaults`), so that one file serves every
blueprint; here the file's shape is checked, and every value keeps the line it came from, so that a bad value
can be reported as `<file>:<line>: <key>: <problem>`.

    blueprints = ["~/src/team-blueprints", "git+https://github.com/acme/blueprints.git#ref=v2"]
    trusted = ["git+https://github.com/acme/blueprints.git"]

    [defaults]              # answers for every blueprint that asks them
    runtime = "python3.12"
    memory = 512

    [defaults.hello-world]  # answers for one blueprint
    greeting = "Hi"

    [presets.prod]          # `slsgen new ... --preset prod`; may hold blueprint tables too
    memory = 1024
    env = { LOG_CHANNEL = "ops" }   # environment variables, under `--env`
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigInvalid

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_ENV = "SLSGEN_CONFIG"
BLUEPRINTS_ENV = "SLSGEN_BLUEPRINTS"
CACHE_ENV = "SLSGEN_CACHE"
TOP_KEYS = ("blueprints", "trusted", "defaults", "presets")
# The flag names a user knows, as the question names they stand for.
ALIASES = {"arch": "architecture"}
# The key of a table's environment variables (what `--env KEY=VALUE` gives), in any defaults or preset table.
ENV_KEY = "env"


@dataclass(frozen=True)
class Value:
    """A configured answer and where it came from (`<file>:<line>`), for errors and `slsgen config show`."""

    value: Any
    origin: str


@dataclass(frozen=True)
class UserConfig:
    """The parsed config file; an absent file is an empty config."""

    path: Path
    exists: bool = False
    defaults: dict[str, Value] = field(default_factory=dict)
    blueprint_defaults: dict[str, dict[str, Value]] = field(default_factory=dict)
    presets: dict[str, dict[str, Value]] = field(default_factory=dict)
    preset_blueprint_defaults: dict[str, dict[str, dict[str, Value]]] = field(default_factory=dict)
    blueprints: list[str] = field(default_factory=list)
    trusted: list[str] = field(default_factory=list)


def config_path() -> Path:
    """`SLSGEN_CONFIG`, else the platform's config folder: %APPDATA% on Windows, else $XDG_CONFIG_HOME or ~/.config."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "slsgen" / "config.toml"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "slsgen" / "config.toml"


def cache_dir() -> Path:
    """Where fetched blueprints are kept: `SLSGEN_CACHE`, else the platform's cache folder."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "slsgen" / "Cache" / "blueprints"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "slsgen" / "blueprints"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "slsgen" / "blueprints"


def line_of(text: str, table: tuple[str, ...], key: str) -> int | None:
    """The line (1-based) where `key` is set in `[table]`: TOML parsers keep no positions, so find it by text."""
    current: tuple[str, ...] = ()
    key_pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[([^\[\]]+)\]\s*(?:#.*)?$", line)
        if header:
            current = tuple(part.strip().strip("\"'") for part in header.group(1).split("."))
            continue
        if current == table and key_pattern.match(line):
            return number
    return None


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _shown(*parts: str) -> str:
    """A dotted key path for an error line: what a terminal would not show as it is (a newline, an escape sequence,
    a right-to-left mark) escaped, so the error stays one honest line."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in ".".join(parts))


def _answers(
    path: Path, text: str, table: tuple[str, ...], data: dict[str, Any]
) -> tuple[dict[str, Value], dict[str, dict[str, Value]]]:
    """A table's answers, and its sub-tables' (one per blueprint name)."""
    answers: dict[str, Value] = {}
    per_blueprint: dict[str, dict[str, Value]] = {}
    for key, value in data.items():
        where = _where(path, line_of(text, table, key))
        if key == ENV_KEY:
            answers.update(_environment(where, table, value))
            continue
        if isinstance(value, dict):
            if len(table) > 2 or (table[0] == "defaults" and len(table) > 1):
                raise ConfigInvalid(f"{where}: {_shown(*table, key)}: tables nest one level (a blueprint name)")
            inner, _ = _answers(path, text, (*table, key), value)
            per_blueprint[key] = inner
            continue
        if not isinstance(value, (str, int, bool, float, list)):
            raise ConfigInvalid(f"{where}: {_shown(*table, key)}: use a string, number, boolean or list")
        name = ALIASES.get(key, key).replace("-", "_")
        answers[name] = Value(value, where)
    return answers, per_blueprint


def _environment(where: str, table: tuple[str, ...], value: Any) -> dict[str, Value]:
    """`env = {KEY = "value"}` (or an `[...env]` table): the function's environment variables, one `env.KEY`
    answer each, so that a preset's variable overrides the defaults' one by one, as answers do."""
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        shown = _shown(*table, ENV_KEY)
        raise ConfigInvalid(
            f'{where}: {shown}: environment variables are a table of strings: {ENV_KEY} = {{ LOG_CHANNEL = "ops" }}'
        )
    return {f"{ENV_KEY}.{name}": Value(item, where) for name, item in value.items()}


def _strings(path: Path, text: str, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        where = _where(path, line_of(text, (), key))
        raise ConfigInvalid(f'{where}: {key}: use a list of strings, e.g. {key} = ["~/src/blueprints"]')
    return list(value)


def load(path: Path | None = None) -> UserConfig:
    """Read and check the config file (by default `config_path()`); raise ConfigInvalid with one line if bad."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserConfig(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigInvalid(f"{path}: cannot read the config file: {exc}; fix it or set {CONFIG_ENV}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigInvalid(f"{path}: not valid TOML: {exc}") from None
    unknown = [key for key in data if key not in TOP_KEYS]
    if unknown:
        where = _where(path, line_of(text, (), unknown[0]))
        raise ConfigInvalid(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(TOP_KEYS)}")
    for key in ("defaults", "presets"):
        if key in data and not isinstance(data[key], dict):
            raise ConfigInvalid(f"{_where(path, line_of(text, (), key))}: {key} must be a table: [{key}]")
    defaults, blueprint_defaults = _answers(path, text, ("defaults",), data.get("defaults", {}))
    presets: dict[str, dict[str, Value]] = {}
    preset_blueprints: dict[str, dict[str, dict[str, Value]]] = {}
    for name, preset in data.get("presets", {}).items():
        if not name.isprintable() or not name.strip():  # it is typed as --preset NAME and shown in messages
            where = _where(path, line_of(text, ("presets",), name))
            raise ConfigInvalid(
                f"{where}: presets.{_shown(name)}: name a preset with printable text, e.g. [presets.prod]"
            )
        if not isinstance(preset, dict):
            where, shown = _where(path, line_of(text, ("presets",), name)), _shown("presets", name)
            raise ConfigInvalid(f"{where}: {shown}: a preset is a table: [{shown}]")
        presets[name], preset_blueprints[name] = _answers(path, text, ("presets", name), preset)
    return UserConfig(
        path,
        exists=True,
        defaults=defaults,
        blueprint_defaults=blueprint_defaults,
        presets=presets,
        preset_blueprint_defaults=preset_blueprints,
        blueprints=_strings(path, text, "blueprints", data.get("blueprints", [])),
        trusted=_strings(path, text, "trusted", data.get("trusted", [])),
    )


def search_path(config: UserConfig) -> list[str]:
    """Extra blueprint folders and repositories: `SLSGEN_BLUEPRINTS` (os.pathsep-separated) first, then the file's."""
    return [*split_path(os.environ.get(BLUEPRINTS_ENV, "")), *config.blueprints]


def split_path(value: str) -> list[str]:
    """Split a search path on os.pathsep, keeping git URLs whole (`https://...`, `git@host:org/repo`) on POSIX."""
    pieces = value.split(os.pathsep)
    entries: list[str] = []
    for piece in pieces:
        joins_url = entries and (piece.startswith("//") or re.fullmatch(r"[\w.-]+@[\w.-]+", entries[-1]))
        if os.pathsep == ":" and joins_url:
            entries[-1] = f"{entries[-1]}:{piece}"
        else:
            entries.append(piece)
    return [entry.strip() for entry in entries if entry.strip()]
