"""End to end, for every built-in blueprint: `slsgen package DIR`, `slsgen validate DIR`, `make validate`.

The zip is built for x86_64 here (arm64, the default, twice in test_ci_files) from PyPI's wheels (pip's shared
cache keeps it quick); each native library inside is checked to be a Linux ELF file for the function's
architecture, each wheel's tags to be manylinux ones for it, and every requirement to be inside. The project has
its own `.venv` (a venv over this interpreter's packages, as `make install` would give), so the runner's copy
inside the project does the work, not slsgen. A generated project broken in four ways gets one line each.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import pytest

import generator

from helpers import check_zip, generate, run, slsgen, with_venv

pytestmark = pytest.mark.e2e
BLUEPRINTS = [blueprint.name for blueprint in generator.list_blueprints()]


def native_files(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return [name for name in archive.namelist() if ".so" in name]


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_package_for_x86_64_from_another_folder_and_validate(tmp_path, blueprint):
    """arm64, every blueprint's default, is built by test_ci_files's workflow test (twice, compared byte for byte);
    here x86_64, through `slsgen package DIR` and `slsgen validate DIR` run from another folder, and the
    template that deploys the zip."""
    project = with_venv(generate(tmp_path, blueprint, "svc-x86", "--arch", "x86_64"))
    made = slsgen("package", str(project), cwd=tmp_path)  # from another folder: DIR names the project
    assert made.returncode == 0, made.stderr
    assert re.search(r"dist/svc-x86\.zip: \d+ files?, [\d.]+ MB zipped \(limit 50\)", made.stderr)
    zip_path = project / "dist" / "svc-x86.zip"
    check_zip(zip_path, "x86_64", "lambda_function.py")
    if blueprint == "image-resize":  # Pillow's native code
        assert any(name.startswith("PIL/_imaging.") for name in native_files(zip_path))
    assert "CodeUri: svc-x86.zip" in (project / "dist" / "template.yaml").read_text()
    deploy = [sys.executable, "-m", "lambda_runner", "validate", "--template", "dist/template.yaml"]
    # cfn-lint and the SAM transform; the last line is the verdict (alexa-skill's placeholder SkillId is a warning)
    assert run(deploy, project, timeout=600).stdout.splitlines()[-1].startswith("validate: OK")
    assert slsgen("validate", str(project), cwd=tmp_path).stdout.splitlines()[-1].startswith("validate: OK")


def test_a_broken_generated_project_gets_one_line_per_problem(tmp_path):
    project = with_venv(generate(tmp_path, "hello-world", "broken", "--memory", "512"))
    template = project / "template.yaml"
    text = template.read_text()
    text = text.replace("Handler: lambda_function.lambda_handler", "Handler: lambda_function.handle")
    text = text.replace("MemorySize: 512", "MemorySize: 20480")
    text = text.replace(
        "      Handler: lambda_function.handle\n",
        "      Handler: lambda_function.handle\n      Policies:\n        - Statement:\n"
        "            - Effect: Allow\n              Action: dynamodb:*\n              Resource: '*'\n",
    )
    template.write_text(text)
    (project / "events" / "hello.json").write_text('{"rawPath": "/hello",\n')
    lines = text.splitlines()
    memory_line = next(n for n, line in enumerate(lines, 1) if "MemorySize: 20480" in line)
    policy_line = next(n for n, line in enumerate(lines, 1) if "- Effect: Allow" in line)

    result = slsgen("validate", str(project), cwd=tmp_path, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = result.stdout.splitlines()
    assert problems == [
        "events/hello.json:2: not valid JSON: Expecting property name enclosed in double quotes (column 1)",
        "src/lambda_function.py: no function handle at the top level of lambda_function "
        "(Handler 'lambda_function.handle')",
        f"template.yaml:{memory_line}: MemorySize 20480 MB is outside Lambda's 128-10240 MB",
        f"template.yaml:{policy_line}: Action 'dynamodb:*' allows every action: name the ones the code calls",
        f"template.yaml:{policy_line}: Resource '*' allows every resource: name the ARNs the code uses",
    ]
    assert "validate: 5 problems" in result.stderr
    make = run(["make", "validate"], project, check=False, timeout=600)
    assert make.returncode != 0
    assert make.stdout.count("template.yaml:") == 3
