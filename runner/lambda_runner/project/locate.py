"""Where a value is in a YAML file: the line of each mapping key, so that a problem can say `file:line`.

The template is parsed into plain data elsewhere; here it is composed into PyYAML's node tree (which keeps
positions) with the same CloudFormation loader, and every key's path is mapped to its 1-based line.
"""

from __future__ import annotations

from typing import Any

Path = tuple[str, ...]


def key_lines(text: str) -> dict[Path, int]:
    """`{("Resources", "Fn", "Properties", "MemorySize"): 31, ...}`; list items are keyed by their index."""
    import yaml

    from ..config.cfn_yaml import cfn_loader

    try:
        root = yaml.compose(text, Loader=cfn_loader())  # a SafeLoader/CSafeLoader subclass
    except yaml.YAMLError:
        return {}
    lines: dict[Path, int] = {}
    _walk(root, (), lines)
    return lines


def _walk(node: Any, path: Path, lines: dict[Path, int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, str(index))
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines)


def line_of(lines: dict[Path, int], *paths: Path) -> int | None:
    """The line of the first path found (the deepest known prefix of it, else None)."""
    for path in paths:
        for end in range(len(path), 0, -1):
            if path[:end] in lines:
                return lines[path[:end]]
    return None
