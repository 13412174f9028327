"""`package`: pip's cross-platform command, its failures in one line, and a reproducible zip within Lambda's limits."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from lambda_runner.errors import RunnerError
from lambda_runner.project import package as pkg

from lambda_project import runner, write_project

HANDLER = """\
def handler(event, context):
    return {"ok": True}
"""


def test_platform_tags_cover_every_manylinux_the_runtime_runs_newest_first():
    tags = pkg.platform_tags("python3.13", "arm64")
    assert tags[0] == "manylinux_2_34_aarch64"  # Amazon Linux 2023: glibc 2.34
    assert "manylinux_2_28_aarch64" in tags  # Pillow 13's only Linux wheels
    assert tags[-1] == "manylinux2014_aarch64"
    assert all(tag.endswith("_aarch64") for tag in tags)
    assert pkg.platform_tags("python3.11", "x86_64")[0] == "manylinux_2_26_x86_64"  # Amazon Linux 2


@pytest.mark.parametrize(
    ("runtime", "architecture", "message"),
    [("python3.13", "aarch64", "use arm64 or x86_64"), ("nodejs22.x", "arm64", "not a Python runtime")],
)
def test_an_unknown_target_is_refused_before_any_download(runtime, architecture, message):
    with pytest.raises(RunnerError, match=message):
        pkg.platform_tags(runtime, architecture)


def test_pip_command_asks_for_the_target_platform_and_binary_wheels_only(tmp_path):
    command = pkg.pip_command("py", tmp_path / "requirements.txt", tmp_path / "t", "python3.12", "x86_64")
    assert command[:4] == ["py", "-m", "pip", "install"]
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[command.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in command
    assert "--no-compile" in command  # no bytecode of the build machine's Python
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == pkg.platform_tags("python3.12", "x86_64")


def test_requirements_with_only_comments_need_no_pip(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# none yet\n\n")
    assert not pkg.has_requirements(requirements)
    requirements.write_text("pillow>=12.2  # thumbnails\n")
    assert pkg.has_requirements(requirements)
    assert not pkg.has_requirements(tmp_path / "missing.txt")


def _code_tree(root: Path) -> Path:
    code = root / "src"
    for name, text in {
        "app.py": HANDLER,
        "pkg/__init__.py": "",
        "pkg/tool.sh": "#!/bin/sh\n",
        "requirements.txt": "pillow\n",
        "conftest.py": "",
        "test_app.py": "",
        "tests/test_more.py": "",
        "__pycache__/app.cpython-313.pyc": "x",
        "pkg/__pycache__/x.pyc": "x",
        ".ruff_cache/data": "x",
    }.items():
        path = code / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (code / "pkg/tool.sh").chmod(0o775)
    return code


def test_the_zip_holds_the_code_without_tests_caches_or_bytecode(tmp_path):
    code = _code_tree(tmp_path)
    deps = tmp_path / "deps"
    for name in ("lib/__init__.py", "lib/__pycache__/m.pyc", "lib-1.0.dist-info/METADATA", "bin/lib-cli"):
        (deps / name).parent.mkdir(parents=True, exist_ok=True)
        (deps / name).write_text("x")
    files = pkg.collect_files(code, deps)
    assert sorted(files) == [
        "app.py",
        "lib-1.0.dist-info/METADATA",
        "lib/__init__.py",
        "pkg/__init__.py",
        "pkg/tool.sh",
    ]


def test_the_zip_is_byte_identical_whatever_the_files_dates_and_modes(tmp_path):
    code = _code_tree(tmp_path)
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    pkg.write_zip(pkg.collect_files(code, None), first, io.StringIO())
    for path in code.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    (code / "app.py").chmod(0o600)  # not group- or world-readable: Lambda must still read it
    pkg.write_zip(pkg.collect_files(code, None), second, io.StringIO())
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in infos}
    assert modes == {"app.py": 0o644, "pkg/__init__.py": 0o644, "pkg/tool.sh": 0o755}


def test_sizes_over_lambdas_limits_are_one_clear_error(tmp_path, monkeypatch):
    code = _code_tree(tmp_path)
    files = pkg.collect_files(code, None)
    monkeypatch.setattr(pkg, "UNZIPPED_LIMIT", 10)
    with pytest.raises(RunnerError, match=r"unzipped is 0\.0 MB: Lambda allows 250 MB"):
        pkg.check_unzipped(files)
    with pytest.raises(RunnerError, match=r"the zip is 60\.0 MB: Lambda accepts 50 MB for a direct upload"):
        pkg.check_zipped(60 * pkg.MB)
    pkg.check_zipped(50 * pkg.MB)


def test_a_dependency_without_a_wheel_is_named():
    output = (
        "Collecting nowheel==1.0\n"
        "ERROR: Could not find a version that satisfies the requirement nowheel==1.0 (from versions: none)\n"
        "ERROR: No matching distribution found for nowheel==1.0\n"
    )
    target = type("F", (), {"runtime": "python3.13", "architecture": "arm64"})()
    message = pkg.pip_failure(output, target)
    assert message.startswith("no binary wheel of nowheel==1.0 for python3.13 on arm64 (manylinux aarch64)")
    assert "\n" not in message
    other = pkg.pip_failure("ERROR: HTTP error 503 while getting https://pypi.org/simple/x/\n", target)
    assert other == (
        "pip could not install src/requirements.txt for python3.13 on arm64 (manylinux aarch64): "
        "ERROR: HTTP error 503 while getting https://pypi.org/simple/x/"
    )


def test_python_dateutil_3_over_the_runtimes_botocore_is_warned(tmp_path):
    (tmp_path / "python_dateutil-4.0.0.dist-info").mkdir()
    assert "add `python-dateutil<3`" in pkg.dateutil_warning(tmp_path)
    (tmp_path / "botocore-1.40.0.dist-info").mkdir()
    assert pkg.dateutil_warning(tmp_path) is None  # resolved together with botocore: pip kept them compatible


def test_package_without_dependencies_writes_the_zip_and_a_deployable_template(tmp_path):
    project = write_project(tmp_path / "orders-api", HANDLER, files={"requirements.txt": "# nothing\n"})
    result = runner(project, "package")
    assert result.returncode == 0, result.stderr
    assert "dist/orders-api.zip: 1 file," in result.stderr
    with zipfile.ZipFile(project / "dist" / "orders-api.zip") as archive:
        assert archive.namelist() == ["app.py"]
    deployed = yaml.safe_load((project / "dist" / "template.yaml").read_text())
    assert deployed["Resources"]["Fn"]["Properties"]["CodeUri"] == "orders-api.zip"  # relative to dist/


def test_a_requirement_with_only_a_source_distribution_gets_one_line_naming_it(tmp_path, monkeypatch):
    """Real pip, offline: a local index holding only an sdist, which --only-binary refuses for another platform."""
    index = tmp_path / "index"
    index.mkdir()
    sdist = index / "nowheel-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        data = b"from setuptools import setup\nsetup(name='nowheel', version='1.0')\n"
        info = tarfile.TarInfo("nowheel-1.0/setup.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    project = write_project(tmp_path / "proj", HANDLER, files={"requirements.txt": "nowheel==1.0\n"})
    result = runner(project, "package")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith("error: no binary wheel of nowheel==1.0 for python3.")
    assert "Traceback" not in result.stderr
    assert not (project / "dist" / "proj.zip").exists()


# --- a project with a uv.lock: its pins, installed by uv for the target, hashes checked ---------------------------


def test_uv_installs_the_locked_pins_for_the_targets_platform_and_python(tmp_path):
    assert pkg.uv_platform("python3.13", "arm64") == "aarch64-manylinux_2_34"  # Amazon Linux 2023: glibc 2.34
    assert pkg.uv_platform("python3.11", "x86_64") == "x86_64-manylinux_2_17"  # Amazon Linux 2: uv has no 2_26
    with pytest.raises(RunnerError, match="use arm64 or x86_64"):
        pkg.uv_platform("python3.13", "aarch64")
    command = pkg.uv_command("uv", tmp_path / "r.txt", tmp_path / "t", "python3.12", "arm64")
    assert command[:3] == ["uv", "pip", "install"]
    assert command[command.index("--python-platform") + 1] == "aarch64-manylinux_2_34"
    assert command[command.index("--python-version") + 1] == "3.12"
    assert {"--no-build", "--no-deps", "--require-hashes"} <= set(command)  # the lock's files, binary, nothing more


def test_a_failed_locked_install_is_one_line_naming_the_pin():
    target = type("F", (), {"runtime": "python3.13", "architecture": "arm64"})()
    no_wheel = (
        "error: No solution found when resolving dependencies\n"
        "  cause: Because pyyaml==5.4.1 has no usable wheels and you require pyyaml==5.4.1, we can conclude that "
        "your requirements are unsatisfiable.\n"
    )
    assert pkg.uv_failure(no_wheel, target).startswith(
        "no binary wheel of pyyaml==5.4.1 (uv.lock's pin) for python3.13 on arm64 (manylinux aarch64)"
    )
    mismatch = "error: Failed to download `six==1.17.0`\n  cause: Hash mismatch for `six==1.17.0`\n\n  Expected: ...\n"
    assert pkg.uv_failure(mismatch, target).startswith("the download of six==1.17.0 does not match the hash uv.lock")
    assert pkg.uv_failure("error: something else\n", target).endswith(": error: something else")


def test_requirements_that_pin_other_versions_than_the_lock_are_warned(tmp_path):
    locked = "pillow==13.0.0 \\\n    --hash=sha256:ab\nTyping_Extensions==4.16.0 ; python_full_version < '3.14' \\\n"
    code = tmp_path / "src"
    code.mkdir()
    requirements = code / "requirements.txt"
    requirements.write_text("# export\npillow==13.0.0 \\\n    --hash=sha256:cd\ntyping-extensions==4.16.0\n")
    function = SimpleNamespace(code_dir=code, project_dir=tmp_path, folder="")
    assert pkg.drift_warning(function, locked) is None  # the same pins, names as pip compares them
    requirements.write_text("pillow>=12.2,<14\n")
    warning = pkg.drift_warning(function, locked)
    assert warning is not None
    assert warning.startswith("warning: src/requirements.txt does not pin what uv.lock pins")
    assert warning.endswith("`uv export --frozen --no-default-groups > src/requirements.txt`)")
    requirements.unlink()
    assert pkg.drift_warning(function, locked) is not None  # `sam build` would install nothing
    added = tmp_path / "functions/thumbs/src"  # a function of its own folder: its own group of the lock
    added.mkdir(parents=True)
    (added / "requirements.txt").write_text("pillow==12.2.0\n")
    warning = pkg.drift_warning(SimpleNamespace(code_dir=added, project_dir=tmp_path, folder="thumbs"), locked)
    assert warning is not None
    assert warning.startswith("warning: functions/thumbs/src/requirements.txt does not pin what uv.lock pins")
    assert "`uv export --frozen --only-group=function-thumbs > functions/thumbs/src/requirements.txt`" in warning


def test_a_locked_project_without_uv_is_one_clear_error(tmp_path, monkeypatch):
    project = write_project(tmp_path / "proj", HANDLER)
    (project / "uv.lock").write_text("version = 1\n")
    monkeypatch.setattr(pkg, "find_uv", lambda: None)
    function = SimpleNamespace(code_dir=project / "src", project_dir=project, folder="", runtime="python3.13")
    with pytest.raises(RunnerError, match=r"uv.lock pins the dependencies and uv installs them: install uv"):
        pkg.function_dependencies(function, tmp_path / "scratch", io.StringIO())


def test_uvs_lock_file_of_the_install_folder_is_not_zipped(tmp_path):
    deps = tmp_path / "deps"
    (deps / "lib").mkdir(parents=True)
    (deps / "lib/__init__.py").write_text("")
    (deps / ".lock").write_text("")
    assert sorted(pkg.collect_files(_code_tree(tmp_path), deps)) == [
        "app.py",
        "lib/__init__.py",
        "pkg/__init__.py",
        "pkg/tool.sh",
    ]
