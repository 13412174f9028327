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
    from .addition import Addition
    from .blueprints import Blueprint
    from .defaults import Effective
    from .project import Ask, Generation
    from .sources import ResolvedSource
    from .userconfig import UserConfig


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
    ref: str | None = None,
    directory: str | None = None,
    preset: str | None = None,
    trust: bool = False,
    git: bool | None = None,
) -> tuple[Generation, list[str]]:
    """`slsgen new`: find the blueprint, then hand it to the one path its kind takes; return the generation and
    the next steps to print. `git` None means: a repository wherever git is installed.

    A plain cookiecutter template takes its own path (`generate_cookiecutter`) from the start; a blueprint gets the
    config's defaults and the command line's answers (`configured`), then `generate_project` does the rest: the
    trust check, the prompts, the render and the placement, each once.
    """
    from . import userconfig
    from .project import generate_project
    from .sources import resolve
    from .vcs import available

    config = userconfig.load()
    blueprint = chosen_blueprint(blueprint, interactive)
    source = resolve(blueprint, ref, directory)
    with_git = available() if git is None else git
    if source.kind == "cookiecutter":
        return generate_cookiecutter(
            source, name, output_dir, flags, set_pairs, config, preset, force, interactive, trust, with_git, blueprint
        )
    loaded, given, env = configured(source, config, flags, set_pairs, env_pairs, preset)
    generation = generate_project(
        loaded,
        name,
        output_dir=output_dir,
        options=given,
        env=env,
        force=force,
        ask=prompter(interactive),
        trust=trust,
        git=with_git,
    )
    return generation, loaded.next_steps


def add(
    project: Path,
    blueprint: str,
    name: str,
    *,
    flags: Mapping[str, Any],
    set_pairs: list[str],
    env_pairs: list[str],
    interactive: bool,
    ref: str | None = None,
    directory: str | None = None,
    preset: str | None = None,
    trust: bool = False,
    force: bool = False,
    dry_run: bool = False,
) -> Addition:
    """`slsgen add`: the blueprint with the config's defaults and the command line's answers, as for `new`, added as
    a function of the project that holds `project` (`addition.add_function` does the rest)."""
    from . import userconfig
    from .addition import add_function
    from .sources import resolve

    source = resolve(blueprint, ref, directory)
    if source.kind == "cookiecutter":
        raise InvalidOption(
            f"{blueprint} is a cookiecutter template: slsgen add adds functions made from slsgen blueprints"
        )
    loaded, given, env = configured(source, userconfig.load(), flags, set_pairs, env_pairs, preset)
    return add_function(
        project,
        loaded,
        name,
        options=given,
        env=env,
        ask=prompter(interactive),
        trust=trust,
        force=force,
        dry_run=dry_run,
    )


def chosen_blueprint(blueprint: str | None, interactive: bool) -> str:
    """The blueprint named on the command line, else (in a terminal) the one picked from a list."""
    if blueprint is not None:
        return blueprint
    from .blueprints import builtin_names

    if not interactive:
        raise InvalidOption(f"name a blueprint: slsgen new BLUEPRINT NAME, with one of {', '.join(builtin_names())}")
    from .console import choose_blueprint

    return choose_blueprint()


def configured(
    source: ResolvedSource,
    config: UserConfig,
    flags: Mapping[str, Any],
    set_pairs: list[str],
    env_pairs: list[str],
    preset: str | None,
) -> tuple[Blueprint, dict[str, Any], dict[str, str]]:
    """The blueprint with the config's defaults (and `preset`) as its defaults, and the command line's answers and
    environment variables over the config's: what `new` and `add` render with (checked when they are resolved)."""
    from . import defaults
    from .blueprints import load_blueprint

    loaded = load_blueprint(source)
    values = defaults.configured(config, loaded.name, preset)
    loaded = defaults.apply(loaded, values)
    warn(defaults.check_keys(config, loaded.name, preset, [question.name for question in loaded.all_questions()]))
    given, _ = defaults.answers(flags, set_pairs)
    return loaded, given, {**defaults.environment(values), **parse_pairs(env_pairs, "--env")}


def prompter(interactive: bool) -> Ask | None:
    """The prompt for each question (the project's name included) in a terminal; None otherwise."""
    if not interactive:
        return None
    from .console import ask_question

    return ask_question


def generate_cookiecutter(
    resolved: ResolvedSource,
    name: str | None,
    output_dir: Path,
    flags: Mapping[str, Any],
    set_pairs: list[str],
    config: UserConfig,
    preset: str | None,
    force: bool,
    interactive: bool,
    trust: bool,
    git: bool,
    reference: str,
) -> tuple[Generation, list[str]]:
    """A plain cookiecutter template: its own questions, answered by --set, the config and its prompts.

    The template brings its own files, CI included: `--ci github|gitlab` is refused (slsgen would add nothing),
    `--ci none` says what happens anyway. `--git` applies as to a blueprint.
    """
    from . import defaults
    from .cookietemplate import asked_keys, generate_template

    if flags.get("ci") not in (None, "none"):
        raise InvalidOption(
            f"--ci {flags['ci']} adds slsgen's CI files to its blueprints; {resolved.path.name} is a cookiecutter "
            "template that brings its own files: drop --ci (or pass --ci none)"
        )
    used = sorted(key for key, value in flags.items() if value is not None and key != "ci")
    if used:
        raise InvalidOption(
            f"--{used[0].replace('_', '-')} applies to slsgen blueprints; {resolved.path.name} is a cookiecutter "
            "template with its own questions: answer them with --set KEY=VALUE"
        )
    values = defaults.configured(config, resolved.path.name, preset)
    warn(defaults.check_keys(config, resolved.path.name, preset, asked_keys(resolved.path)))
    generation = generate_template(
        resolved,
        name,
        output_dir=output_dir,
        given=parse_pairs(set_pairs, "--set"),
        configured=values,
        reference=reference,
        no_input=not interactive,
        force=force,
        trusted=trust,
        git=git,
    )
    return generation, []


def warn(lines: list[str]) -> None:
    if lines:
        from .console import print_warning

        for line in lines:
            print_warning(line)


def config_rows(
    blueprint: str,
    preset: str | None,
    flags: Mapping[str, Any],
    set_pairs: list[str],
    ref: str | None = None,
    directory: str | None = None,
) -> tuple[UserConfig, list[Effective]]:
    """`slsgen config show`: the config file, and each effective answer for `blueprint` (a blueprint or a
    cookiecutter template, at `ref` and in `directory` as `new` finds it) with its origin."""
    from . import defaults, userconfig
    from .blueprints import load_blueprint
    from .sources import resolve

    config = userconfig.load()
    resolved = resolve(blueprint, ref, directory)
    if resolved.kind == "cookiecutter":
        return config, template_rows(resolved.path, config, preset, set_pairs)
    return config, defaults.effective(load_blueprint(resolved), config, preset, flags, set_pairs)


def template_rows(template: Path, config: UserConfig, preset: str | None, set_pairs: list[str]) -> list[Effective]:
    """`config show` for a cookiecutter template: each of its questions' value (as `new` would pass it) and
    origin (a set of templates shows its `templates` choice: a nested one's questions are its own)."""
    from . import defaults
    from .cookietemplate import asked_keys, check_value, questions

    data = questions(template)
    values = defaults.configured(config, template.name, preset)
    defaults.check_keys(config, template.name, preset, asked_keys(template))
    given = parse_pairs(set_pairs, "--set")
    rows = []
    for key in [key for key in data if not key.startswith("_")]:
        value, origin = data[key], f"template {template.name}"
        if key in given:
            value, origin = given[key], "--set"
        elif key in values:
            value, origin = values[key].value, values[key].origin
        try:
            rows.append(defaults.Effective(key, check_value(key, data[key], value), origin))
        except ValueError as exc:
            raise InvalidOption(f"{origin}: {exc}") from None
    return rows + defaults.unasked_rows(values, asked_keys(template), template.name)
