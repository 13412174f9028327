"""Work the command line does around the library: gather answers from flags and prompts, find a project.

`generate` turns the `new` command's flags into one `generate_project` call, prompting in a terminal for what is
missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidOption
from .options import parse_pairs

if TYPE_CHECKING:
    from .blueprints import Blueprint
    from .project import Generation


def generate(
    blueprint: str | None,
    name: str | None,
    *,
    output_dir: Path,
    flags: Mapping[str, Any],
    set_pairs: list[str],
    env_pairs: list[str],
    force: bool,
    interactive: bool,
) -> tuple[Generation, Blueprint]:
    """Collect the answers of `slsgen new` and generate the project; return it and the blueprint used."""
    from .blueprints import builtin_names, load_blueprint
    from .project import generate_project, parse_env

    options = {key: value for key, value in flags.items() if value is not None}
    for key, value in parse_pairs(set_pairs, "--set").items():
        if key in options:
            raise InvalidOption(f"{key} is given twice (as a flag and with --set); keep one")
        options[key] = value
    env = parse_env(env_pairs)
    if blueprint is None:
        if not interactive:
            raise InvalidOption(
                f"name a blueprint: slsgen new BLUEPRINT NAME, with one of {', '.join(builtin_names())}"
            )
        from .console import choose_blueprint

        blueprint = choose_blueprint()
    loaded = load_blueprint(blueprint)
    ask = None
    if interactive:
        from .console import ask_name, ask_question

        ask = ask_question
        if name is None:
            name = ask_name(f"my-{loaded.name}", loaded.max_name_length)
    if name is None:
        raise InvalidOption(f"name the project: slsgen new {blueprint} NAME (lowercase letters, digits, hyphens)")
    generation = generate_project(loaded, name, output_dir=output_dir, options=options, env=env, force=force, ask=ask)
    return generation, loaded
