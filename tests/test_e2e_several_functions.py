"""A generated project grown by `slsgen add` works with its Makefile and CI as generated: no edit of either.

Three pairs, each a first function and one added beside it in functions/NAME/: an API with a queue worker
(hello-world + data-processing's SQS trigger), an upload handler with an API (image-resize + hello-world) and a skill
with a nightly job (alexa-skill + data-processing's schedule). In a fresh venv each runs the GitHub workflow's
command (`make install lint test validate package`, what GitLab's jobs run too), `make invoke FUNCTION=...` for the
added function, `slsgen invoke NAME`, and the commands of the README section `slsgen add` wrote about it.
"""

from __future__ import annotations

import os
import re
import zipfile

import pytest
import yaml
from lambda_runner.config.template import read_functions
from readme_commands import Reader, record, shell_commands

from generator.blueprints import load_blueprint

from helpers import SLSGEN, generate, run

pytestmark = pytest.mark.e2e

PAIRS = [
    # first blueprint, added blueprint and its options, the added function's name and logical id
    ("hello-world", "data-processing", ["--set", "trigger=sqs"], "orders-worker", "OrdersWorkerFunction"),
    ("image-resize", "hello-world", [], "api", "ApiFunction"),
    ("alexa-skill", "data-processing", ["--set", "trigger=schedule"], "nightly", "NightlyFunction"),
]
EDIT = "# the user's own line\n"


@pytest.mark.parametrize(("first", "added", "options", "name", "logical_id"), PAIRS, ids=[p[0] for p in PAIRS])
def test_a_project_grown_by_add_passes_its_ci_command_and_invokes_each_function(
    tmp_path, shared_venv, first, added, options, name, logical_id
):
    project = generate(tmp_path, first, "shop")
    handler = project / "src/lambda_function.py"
    handler.write_text(EDIT + handler.read_text())
    run([*SLSGEN, "add", added, name, "--no-input", *options], project)
    assert handler.read_text().startswith(EDIT)
    functions = read_functions(project / "template.yaml")
    first_id = load_blueprint(first).function_id  # the first function's id, as its blueprint names it
    assert sorted(functions) == sorted([first_id, logical_id])
    venv = shared_venv(project)
    env = {"VENV": str(venv), "UV_LINK_MODE": "hardlink"}

    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    commands = [step["run"] for step in workflow["jobs"]["ci"]["steps"] if "run" in step]
    assert commands == ["make install lint test validate package"]  # the workflow, unchanged by the second function
    result = run(["bash", "-eo", "pipefail", "-c", commands[0]], project, env=env, timeout=900)
    out, err = result.stdout, result.stderr
    # make test: both folders' tests (two files named test_lambda_function.py), coverage of both functions' code
    assert re.search(rf"^functions/{name}/tests/test_lambda_function\.py \.+", out, re.M), out
    assert re.search(r"^tests/test_lambda_function\.py \.+", out, re.M), out
    assert re.search(rf"^functions/{name}/src/lambda_function\.py +\d+ ", out, re.M), out
    assert re.search(r"^src/lambda_function\.py ", out, re.M), out
    assert f"functions/{name}/tests/" not in out.split("coverage:", 1)[1]  # tests are not the code measured
    # make validate: both functions and both folders' events; checkov on the grown template and deploy role
    assert re.search(r"validate: OK \(template\.yaml: 2 functions, \d+ event files, ", out), out
    assert "Failed checks: 0," in out
    # make package: one zip per function, each with its own code
    for function in (first_id, logical_id):
        assert re.search(rf"^dist/shop-{function}\.zip: \d+ files?, ", err, re.M), err
    with zipfile.ZipFile(project / "dist" / f"shop-{first_id}.zip") as archive:
        assert archive.read("lambda_function.py").decode().startswith(EDIT)
    with zipfile.ZipFile(project / "dist" / f"shop-{logical_id}.zip") as archive:
        code = archive.read("lambda_function.py")
    assert code == (project / f"functions/{name}/src/lambda_function.py").read_bytes()
    packaged = yaml.safe_load((project / "dist/template.yaml").read_text())["Resources"]
    assert packaged[logical_id]["Properties"]["CodeUri"] == f"shop-{logical_id}.zip"

    # make invoke FUNCTION=...: one function, named as its logical id without the suffix, or by its folder
    events = sorted(
        path.relative_to(project).as_posix() for path in (project / f"functions/{name}/events").glob("*.json")
    )
    ledger: dict[tuple[str, str], str] = {}
    for reference in (logical_id.removesuffix("Function"), name):
        result = run(["make", "invoke", f"FUNCTION={reference}"], project, env=env)
        assert re.findall(r"^== (\S+)$", result.stdout, re.M) == events
        record(ledger, f"make invoke FUNCTION={reference}", project, "this test's")
    result = run(["make", "invoke", "FUNCTION=Nope"], project, env=env, check=False)
    assert result.returncode != 0
    assert f"error: no function 'Nope' in template.yaml; choose one of: {first_id}, {logical_id}\n" in (result.stderr)

    # slsgen invoke NAME: the project's runner, handed the name, on the function's first sample event
    result = run(
        [*SLSGEN, "invoke", name, "-q", "-e", events[0], "--local-aws"], project, env={"VIRTUAL_ENV": str(venv)}
    )
    assert result.stdout.strip()
    result = run([*SLSGEN, "invoke", "-q"], project, env={"VIRTUAL_ENV": str(venv)}, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: template.yaml has several functions; name one of: ")

    # The README's section about the added function, every command as written, with the venv as the project's .venv
    section = f"{logical_id.removesuffix('Function')}: the `{name}` function ({added})"
    commands = shell_commands((project / "README.md").read_text(encoding="utf-8"), sections=(section,))
    assert len(commands) == 2, f"README.md's section {section!r}: {commands}"
    (project / ".venv").symlink_to(venv, target_is_directory=True)
    report = Reader(project, {**os.environ, **env}, tmp_path, ledger).run_all(commands)
    assert report == [f"{commands[0]}: passed already, on the same files (this test's)"]
