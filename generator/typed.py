"""Typed manifest entries: a YAML mapping becomes a dataclass, checked key by key, and the same dataclasses give
the manifest's JSON Schema.

One model serves both, so that the schema editors use and the loader's checks cannot drift apart. A field's
manifest key is its name unless its metadata sets `key` (`as`, `min` are Python keywords or builtins); metadata
`manifest=False` marks slsgen's own fields, which a manifest cannot set; `required=True` makes a field with a
Python default required in a manifest; `help` becomes the schema's description and `schema` adds keywords to it.
A dataclass checks what its types cannot say (one of two keys, a valid regular expression) in `__post_init__`,
raising ValueError with the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, Union

import yaml

from .errors import BlueprintInvalid, SlsgenError

T = TypeVar("T")
TYPE_WORDS = {str: "text", int: "a whole number", bool: "true or false"}
JSON_TYPES = {str: "string", int: "integer", bool: "boolean"}


_FIELDS: dict[type[Any], dict[str, tuple[dataclasses.Field[Any], Any]]] = {}


def manifest_fields(cls: type[Any]) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """The manifest keys of a dataclass, each with its field and its resolved type (resolved once per class)."""
    if cls not in _FIELDS:
        _FIELDS[cls] = _resolve_fields(cls)
    return _FIELDS[cls]


def _resolve_fields(cls: type[Any]) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    hints = typing.get_type_hints(cls)
    return {
        field.metadata.get("key", field.name): (field, hints[field.name])
        for field in dataclasses.fields(cls)
        if field.metadata.get("manifest", True)
    }


def is_required(field: dataclasses.Field[Any]) -> bool:
    no_default = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    return no_default or bool(field.metadata.get("required"))


def describe(data: object) -> str:
    """A short flow-style rendering of a manifest entry, to name it in a one-line message (YAML writes a text with
    line breaks over several lines: its whitespace is collapsed)."""
    text = yaml.safe_dump(data, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def parse(cls: type[T], data: object, where: str) -> T:
    """Build `cls` from a manifest mapping; raise BlueprintInvalid naming `where`, the problem and the fix."""
    spec = manifest_fields(cls)
    if not isinstance(data, Mapping):
        raise BlueprintInvalid(f"{where} must be a mapping with the keys {', '.join(spec)}, not {describe(data)}")
    unknown = [key for key in data if key not in spec]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), list(spec), n=1)
        fix = f"did you mean {close[0]!r}?" if close else f"use {', '.join(spec)}"
        raise BlueprintInvalid(f"{where}: unknown key {unknown[0]!r}: {fix}")
    missing = [key for key, (field, _) in spec.items() if is_required(field) and key not in data]
    if missing:
        raise BlueprintInvalid(f"{where}: {missing[0]!r} is required")
    values = {
        spec[key][0].name: convert(spec[key][1], value, f"{where}: {key}")
        for key, value in data.items()
        if value is not None or spec[key][0].default_factory is dataclasses.MISSING  # `events:` with no entries
    }
    try:
        return cls(**values)
    except (ValueError, SlsgenError) as exc:
        raise BlueprintInvalid(f"{where}: {exc}") from None


def _optional(hint: Any) -> Any | None:
    """The X of `X | None`, or None when `hint` is not optional."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) == 1 and len(typing.get_args(hint)) == 2:
            return others[0]
    return None


def convert(hint: Any, value: object, where: str) -> Any:
    """Check `value` against a type hint (and build nested dataclasses); raise BlueprintInvalid on a mismatch."""
    inner = _optional(hint)
    if inner is not None:
        return None if value is None else convert(inner, value, where)
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return parse(typing.cast(type, hint), value, where)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise BlueprintInvalid(f"{where} must be a list, not {describe(value)}")
        items = [_convert_item(args[0], item, f"{where}[{index}]") for index, item in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise BlueprintInvalid(f"{where} must be a mapping with text keys, not {describe(value)}")
        return {key: convert(args[1], item, f"{where}.{key}") for key, item in value.items()}
    if hint in TYPE_WORDS and isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
        return value
    quote = " (quote it)" if hint is str and isinstance(value, (int, float, bool)) else ""
    raise BlueprintInvalid(f"{where} must be {TYPE_WORDS.get(hint, hint)}{quote}, not {describe(value)}")


def _convert_item(hint: Any, item: object, where: str) -> Any:
    """Convert a list item; a message about a mapping entry also shows the entry (rendered only on failure)."""
    try:
        return convert(hint, item, where)
    except BlueprintInvalid as exc:
        if not isinstance(item, Mapping):
            raise
        raise BlueprintInvalid(str(exc).replace(where, f"{where} {describe(item)}", 1)) from None


def json_schema(root: type, title: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a manifest dataclass and the dataclasses it holds."""
    definitions: dict[str, Any] = {}
    schema = _schema_of(root, definitions)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        **{key: value for key, value in schema.items() if key != "$ref"},
        **definitions.pop(root.__name__),
        "$defs": dict(sorted(definitions.items())),
    }


def _schema_of(hint: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    inner = _optional(hint)
    if inner is not None:
        return {"anyOf": [_schema_of(inner, definitions), {"type": "null"}]}
    if hint is Any:
        return {}
    if dataclasses.is_dataclass(hint):
        cls = typing.cast(type, hint)
        if cls.__name__ not in definitions:
            definitions[cls.__name__] = {}  # placeholder: a dataclass may refer to itself
            properties = {}
            for key, (field, field_hint) in manifest_fields(cls).items():
                prop = _schema_of(field_hint, definitions)
                if field.metadata.get("help"):
                    prop = {**prop, "description": field.metadata["help"]}
                prop.update(field.metadata.get("schema", {}))
                properties[key] = prop
            definitions[cls.__name__] = {
                "description": " ".join((cls.__doc__ or "").split()),
                "type": "object",
                "properties": properties,
                "required": [key for key, (field, _) in manifest_fields(cls).items() if is_required(field)],
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{cls.__name__}"}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, tuple):
        return {"type": "array", "items": _schema_of(args[0], definitions)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema_of(args[1], definitions)}
    return {"type": JSON_TYPES[hint]}
