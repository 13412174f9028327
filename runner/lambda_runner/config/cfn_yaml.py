"""Reading CloudFormation YAML: short-form tags (`!Ref`, `!GetAtt`, `!Sub`...) and dates read as CloudFormation does.

YAML is parsed with a subclass of libyaml's `CSafeLoader` when PyYAML was built with it (else `SafeLoader`),
with the same CloudFormation tag constructors and the same resolvers (no timestamps) either way. PyYAML is
imported on first use, not with this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # PyYAML is imported on first use only
    from typing import TypeAlias

    from yaml import CSafeLoader, MappingNode, Node, SafeLoader
    from yaml.constructor import SafeConstructor

    # Both loader bases share PyYAML's SafeConstructor and Resolver, which is all that is used of them here.
    _Loader: TypeAlias = "type[SafeLoader] | type[CSafeLoader]"

_loaders: dict[bool, _Loader] = {}  # by "is built on libyaml"


class InvalidYaml(ValueError):
    """The text is not YAML: `problem` says why, `line` (1-based) where, when PyYAML knows."""

    def __init__(self, problem: str, line: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def _construct_tag(loader: SafeConstructor, tag_suffix: str, node: Node) -> dict[str, Any]:
    """`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`..."""
    import yaml

    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:  # the only other kind of node
        value = loader.construct_mapping(cast("MappingNode", node), deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


def cfn_loader(*, use_libyaml: bool = True) -> _Loader:
    """The loader class: CloudFormation's short-form tags, and `2010-09-09` read as a string, not a date.

    Built on first use so that importing this module does not import PyYAML.
    """
    import yaml

    with_c = bool(use_libyaml and getattr(yaml, "__with_libyaml__", False))
    if with_c in _loaders:
        return _loaders[with_c]
    base = yaml.CSafeLoader if with_c else yaml.SafeLoader
    # `type()` is typed as returning a bare `type`; the class it builds is a subclass of `base`.
    built = type("CfnLoader", (base,), {"__doc__": "A safe YAML loader for CloudFormation templates."})
    loader = cast("_Loader", built)
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
        return yaml.load(text, Loader=cfn_loader())  # noqa: S506  # nosec B506  # a SafeLoader subclass: plain data
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidYaml(str(getattr(exc, "problem", None) or exc), mark.line + 1 if mark else None) from None
