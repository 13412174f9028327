"""Scheduling of the suite on CI's two cores (`pytest -n 2`): slowest first, module fixtures built once.

With `--dist loadgroup --no-loadscope-reorder` (pyproject's addopts), xdist hands out tests in collection order,
one unit at a time to whichever worker is free. So the order set here decides the wall time: the end-to-end tests
that build virtual environments and run whole projects start first and the many quick tests fill the gaps, instead
of a long test starting last and running alone. Tests that share a module- or session-scoped fixture (generated
projects, a checkov environment) form one unit on one worker, so that the fixture is built once, not once per
worker.
"""

from __future__ import annotations

import os
import sys

import pytest

# Seconds per test function (its slowest case; a shared fixture's set-up counts in the first test using it),
# from `--durations=80 -n 2` on the 2-core machine while other suites ran: inflated, but in proportion. Only the
# order matters. A test missing here counts as E2E_SECONDS when marked e2e, else as 0, and keeps its place among
# its equals; re-measure when a new test takes minutes.
SECONDS = {
    "test_e2e_package_validate.py::test_package_for_x86_64_from_another_folder_and_validate": 150,
    "test_ci_files.py::test_every_workflow_command_passes_in_the_project": 480,
    "test_image_resize_blueprint.py::test_non_default_options": 370,
    "test_image_resize_blueprint.py::test_default_project": 320,
    "test_killed_generations.py::test_sigkill_spread_across_a_whole_generation": 240,
    "test_e2e_alexa_skill.py::test_makefile_in_a_fresh_venv_on_another_runtime_python": 60,
    "test_e2e_data_processing.py::test_batch_triggers": 200,
    "test_security_scans.py::test_the_vendored_runner_is_the_same_in_every_project": 200,
    "test_fuzz_cli.py::test_new_with_fuzzed_arguments": 170,
    "test_e2e_data_processing.py::test_s3_project": 160,
    "test_e2e_package_validate.py::test_a_broken_generated_project_gets_one_line_per_problem": 130,
    "test_security_scans.py::test_checkov_passes_every_template_but_the_reasoned_skips": 110,
    "test_ci_files.py::test_readme_explains_the_one_time_aws_setup_of_the_chosen_ci": 80,
    "test_e2e_data_processing.py::test_schedule_project": 80,
    "test_architecture_types.py::test_mypy_strict_finds_no_errors_in_generator": 70,
    "test_e2e_alexa_skill.py::test_several_locales_another_handler_and_python312": 70,
    "test_e2e_hello_world.py::test_makefile_in_a_fresh_venv_on_another_runtime_python": 30,
    "test_project_commands.py::test_invoke_runs_the_project_runner_with_the_project_venv": 60,
    "test_fuzz_cli.py::test_blueprint_manifests_load_or_are_refused_in_one_line": 60,
    "test_fuzz_cli.py::test_force_regeneration_with_fuzzed_records": 50,
    "test_e2e_alexa_skill.py::test_default_project": 50,
    "test_generation_frictions.py::test_other_env_keys_are_written_once_and_pass_cfn_lint": 50,
    "test_e2e_hello_world.py::test_python314_project_is_formatted_for_its_target": 50,
    "test_project_validate.py::test_a_clean_project_is_one_ok_line": 40,
    "test_e2e_data_processing.py::test_sqs_template": 40,
    "test_e2e_hello_world.py::test_the_makefile_says_which_python_it_falls_back_to": 30,
    "test_e2e_hello_world.py::test_python314_project_runs_on_an_older_python": 30,
    "test_security_scans.py::test_bandit_finds_no_medium_or_high_issue": 30,
    "test_manifest.py::test_a_check_runs_in_the_rendered_project_and_its_failure_writes_nothing": 30,
    "test_killed_generations.py::test_sigkill_at_every_step_of_a_placement": 30,
    "test_blueprint_authoring.py::test_every_builtin_blueprint_passes_lint": 30,
    "test_fuzz_runner.py::test_invoke_with_fuzzed_event_files": 30,
}
E2E_SECONDS = 25


def pytest_configure(config: pytest.Config) -> None:
    """One uv cache for every project venv the tests build (`make install`, checkov's tool environment), linked
    into each venv rather than copied: uv's default on Linux, set here so that a user's UV_LINK_MODE=copy or
    UV_NO_CACHE does not make every end-to-end test copy or download its wheels again. Never a Python download:
    the tests use pyenv's or PATH's interpreters."""
    os.environ["UV_LINK_MODE"] = "hardlink"
    os.environ.pop("UV_NO_CACHE", None)
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"
    # Bytecode caches, as a user's shell has them (a CI image may set PYTHONDONTWRITEBYTECODE=1): a project's tools
    # (cfn-lint, moto, boto3) then compile once per virtual environment instead of at every command the tests
    # run, and `package` is tested against the __pycache__ folders a real project has.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False


def seconds(item: pytest.Item) -> float:
    """What `item` is expected to take, from SECONDS by its file and function name."""
    key = f"{item.path.name}::{item.originalname}" if isinstance(item, pytest.Function) else item.nodeid
    if key in SECONDS:
        return SECONDS[key]
    return E2E_SECONDS if item.get_closest_marker("e2e") else 0


def shared_fixture_scope(item: pytest.Item) -> str | None:
    """The test module whose tests share a module- or session-scoped fixture with `item`, if it uses one."""
    info = getattr(item, "_fixtureinfo", None)  # pytest's own record of the fixtures an item uses
    if info is None:
        return None
    for name, definitions in info.name2fixturedefs.items():
        if definitions and definitions[-1].scope in ("module", "package", "session") and name != "tmp_path_factory":
            if not definitions[-1].baseid:  # a plugin's (pytest's, xdist's): cheap or built anyway
                continue
            return item.path.stem
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the xdist_group marks set here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the tests slowest first, each group of fixture-sharing tests as one unit (and one xdist group)."""
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        scope = shared_fixture_scope(item)
        if scope is not None:
            item.add_marker(pytest.mark.xdist_group(scope))
            groups.setdefault(scope, []).append(item)
    unit_seconds = {scope: sum(seconds(item) for item in members) for scope, members in groups.items()}

    def cost(item: pytest.Item) -> float:
        scope = shared_fixture_scope(item)
        return unit_seconds[scope] if scope is not None else seconds(item)

    items.sort(key=cost, reverse=True)  # stable: equals keep their collection order
