"""`package`: the function's deployable zip, built on any machine without Docker or SAM.

Lambda runs Linux on arm64 or x86_64 with one CPython version, whatever the build machine is. So the function's
dependencies are installed by pip for that target (its manylinux tags, the runtime's Python version, CPython, binary
wheels only: a source build would compile for the build machine) into a fresh folder, the code folder (`CodeUri`)
is laid over them at the zip's root, and the zip is written reproducibly: sorted entries, one fixed timestamp, fixed
permissions, no bytecode or caches of the build machine's Python, no tests. The same inputs give the same bytes, so
a deploy that changed nothing uploads nothing new. `dist/template.yaml` is the template with `CodeUri` pointing at
the zip: `sam deploy --config-env zip` (see samconfig.toml) deploys it without `sam build`. Each file in `dist/` is
replaced atomically (written beside it, then renamed), so a run killed or failing anywhere leaves the previous one.
A template with several functions gets one zip per function (`<project>-<LogicalId>.zip`, each from its own
CodeUri and requirements.txt), and `dist/template.yaml` points each function at its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from ..config.template import FunctionConfig, load_template, read_functions, select_function
from ..errors import RunnerError
from ..wording import counted

MB = 1024 * 1024
ZIPPED_LIMIT = 50 * MB  # a direct upload (API, SDK, console)
UNZIPPED_LIMIT = 250 * MB  # the function's code and dependencies, layers included
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
WHEEL_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}
# glibc of each runtime's OS: Amazon Linux 2 (2.26) up to python3.11, Amazon Linux 2023 (2.34) from python3.12.
GLIBC_MINOR = {"python3.10": 26, "python3.11": 26, "python3.12": 34, "python3.13": 34, "python3.14": 34}
# Not in the function's zip: the build machine's bytecode and tool caches, and the code folder's tests.
SKIPPED_DIRS = frozenset(
    {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git", ".venv", ".aws-sam", "tests", "test"}
)
SKIPPED_CODE_FILES = frozenset({"requirements.txt", "conftest.py", ".DS_Store"})
PROGRESS = ("Collecting ", "Downloading ", "Using cached ", "Installing collected", "Successfully installed")
PARTIAL = ".partial"  # the temporary files a zip or template is written into, beside it
NO_WHEEL = re.compile(r"(?:No matching distribution found for|satisfies the requirement) ([^\s;]+)")


def platform_tags(runtime: str, architecture: str) -> list[str]:
    """pip's `--platform` values for a runtime: every manylinux tag its glibc runs, newest first.

    pip does not widen a `manylinux_2_X` tag to older ones, so each is listed (manylinux2014 is 2_17; pip adds
    manylinux2010 and manylinux1 to it). Pillow 13, for one, publishes only manylinux_2_28 wheels: with
    manylinux2014 alone pip would silently pick an older major version.
    """
    arch = WHEEL_ARCH.get(architecture)
    if arch is None:
        raise RunnerError(f"Architectures [{architecture}] is not a Lambda architecture: use arm64 or x86_64")
    newest = GLIBC_MINOR.get(runtime)
    if newest is None:
        raise RunnerError(f"Runtime {runtime!r} is not a Python runtime this runner packages: use one of {_runtimes()}")
    return [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 17, -1)] + [f"manylinux2014_{arch}"]


def _runtimes() -> str:
    return ", ".join(GLIBC_MINOR)


def pip_command(python: str, requirements: Path, target: Path, runtime: str, architecture: str) -> list[str]:
    """`pip install` of the requirements into `target`, for the function's platform rather than this machine's."""
    command = [python, "-m", "pip", "install", "--requirement", str(requirements), "--target", str(target)]
    for tag in platform_tags(runtime, architecture):
        command += ["--platform", tag]
    version = runtime.removeprefix("python")
    return [*command, "--implementation", "cp", "--python-version", version, "--only-binary=:all:", "--no-compile"]


def has_requirements(requirements: Path) -> bool:
    """Whether the file names any requirement (comments and blank lines do not count)."""
    if not requirements.is_file():
        return False
    lines = requirements.read_text(encoding="utf-8").splitlines()
    return any(line.split("#", 1)[0].strip() for line in lines)


def pip_failure(output: str, function: FunctionConfig, requirements: str = "src/requirements.txt") -> str:
    """One line for a failed pip run: the dependency without a wheel for the target when that is the cause."""
    target = f"{function.runtime} on {function.architecture} (manylinux {WHEEL_ARCH.get(function.architecture)})"
    match = NO_WHEEL.search(output)
    if match:
        return (
            f"no binary wheel of {match.group(1)} for {target}: pip cannot build it from source for another "
            "platform; choose a version that publishes manylinux wheels, or replace the dependency"
        )
    if "No module named pip" in output:
        return f"pip is not installed in {sys.executable}: run `make install`, or `python -m ensurepip`"
    errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR:")]
    last = errors[-1] if errors else (output.strip().splitlines() or ["no output"])[-1]
    return f"pip could not install {requirements} for {target}: {last}"


def install_dependencies(requirements: Path, target: Path, function: FunctionConfig, log: TextIO) -> None:
    """Run pip for the function's platform, relaying its progress lines; a failure becomes one clear line."""
    command = pip_command(sys.executable, requirements, target, function.runtime, function.architecture)
    log.write(f"installing {requirements.name} for {function.runtime} {function.architecture} with pip\n")
    log.flush()
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    output: list[str] = []
    with subprocess.Popen(  # this interpreter's own pip, with arguments built here
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.lstrip().startswith(PROGRESS):
                log.write(f"  {line.strip()}\n")
                log.flush()
    if process.returncode != 0:
        raise RunnerError(pip_failure("".join(output), function, _shown(requirements)))


def _skipped(relative: Path, *, code: bool) -> bool:
    if any(part in SKIPPED_DIRS for part in relative.parts[:-1]) or relative.suffix in (".pyc", ".pyo"):
        return True
    name = relative.name
    if code:
        return name in SKIPPED_CODE_FILES or name.startswith("test_") or name.endswith("_test.py")
    return relative.parts[0] == "bin" and len(relative.parts) > 1  # pip's console scripts, for this machine's Python


def collect_files(code_dir: Path, dependencies: Path | None) -> dict[str, Path]:
    """The zip's entries (archive name -> file): the dependencies, then the function's code over them."""
    files: dict[str, Path] = {}
    for root, is_code in ((dependencies, False), (code_dir, True)):
        if root is None:
            continue
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            if path.is_file() and not _skipped(relative, code=is_code):
                files[relative.as_posix()] = path
    return files


def write_zip(files: dict[str, Path], destination: Path, log: TextIO) -> int:
    """A reproducible zip: sorted names, one fixed date, 0644 (0755 for executables), deflate level 6.

    Written beside `destination` and renamed over it only once complete and within the 50 MB of a direct upload
    (see `replacing`): a run killed or failing at any point leaves the previous zip as it was. Returns its size.
    """
    names = sorted(files)
    live = log.isatty()
    shown = -1
    if not live:
        log.write(f"zipping {counted(len(names), 'file')}\n")
    with replacing(destination) as stream:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for number, name in enumerate(names, start=1):
                path = files[name]
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so that the permissions below are read
                mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
                info.external_attr = (0o100000 | mode) << 16
                archive.writestr(info, path.read_bytes(), compresslevel=6)
                percent = number * 100 // len(names)
                if live and percent // 10 != shown:
                    shown = percent // 10
                    log.write(f"\rzipping {counted(len(names), 'file')}: {percent}%")
                    log.flush()
        if live:
            log.write("\n")
        zipped = stream.tell()
        check_zipped(zipped)  # before the rename: a zip over the limit never replaces a good one
    return zipped


@contextlib.contextmanager
def replacing(destination: Path) -> Iterator[BinaryIO]:
    """A file to write `destination`'s new content into, renamed over it when the block ends without error.

    The file is a new temporary one in the same folder (`.NAME.*.partial`: a rename within a folder is atomic,
    so `destination` is always the old file or the complete new one), held locked while it is written, so that
    `remove_stale` in a run that starts meanwhile leaves it alone; a run that fails removes it, and one killed
    leaves it for the next run's `remove_stale`.
    """
    descriptor, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=PARTIAL, dir=destination.parent)
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w+b") as stream:
            _lock(stream.fileno(), wait=True)
            yield stream
            stream.flush()
            os.chmod(temporary, 0o644)  # mkstemp's 0600 is for secrets: a zip is read by sam and CI
            if sys.platform != "win32":
                os.replace(temporary, destination)  # while still locked: never an unlocked .partial of ours
        if sys.platform == "win32":
            os.replace(temporary, destination)  # Windows renames no open file
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_stale(destination: Path) -> None:
    """Remove the temporary files that runs killed while writing `destination` left, not a running one's."""
    for path in destination.parent.glob(f".{destination.name}.*{PARTIAL}"):
        try:
            with path.open("rb") as stream:
                if not _lock(stream.fileno(), wait=False):
                    continue  # another run is writing it
                path.unlink()
        except OSError:  # gone meanwhile, or (Windows) open in another run
            continue


def _lock(descriptor: int, *, wait: bool) -> bool:
    """An exclusive advisory lock, released by the OS however the process ends; False if another holds it.

    Windows has no flock, and needs none: a file open in another process cannot be deleted there.
    """
    if sys.platform == "win32":
        return True
    import fcntl

    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def check_unzipped(files: dict[str, Path]) -> int:
    """The size of the function unzipped, checked against Lambda's 250 MB before anything is zipped."""
    unzipped = sum(path.stat().st_size for path in files.values())
    if unzipped > UNZIPPED_LIMIT:
        raise RunnerError(
            f"the function unzipped is {unzipped / MB:.1f} MB: Lambda allows 250 MB (layers included); "
            "drop dependencies the runtime provides (boto3) or move large ones to a container image"
        )
    return unzipped


def check_zipped(zipped: int) -> None:
    """The zip's size against the 50 MB of a direct upload."""
    if zipped > ZIPPED_LIMIT:
        raise RunnerError(
            f"the zip is {zipped / MB:.1f} MB: Lambda accepts 50 MB for a direct upload; use fewer or smaller "
            "dependencies (the runtime provides boto3), or a container image"
        )


def dateutil_warning(dependencies: Path, requirements: str = "src/requirements.txt") -> str | None:
    """python-dateutil 3+ in the zip shadows the runtime's copy, and the runtime's botocore requires < 3."""
    if any(dependencies.glob("botocore-*.dist-info")):
        return None  # botocore is in the zip too: pip resolved both together
    for info in dependencies.glob("python_dateutil-*.dist-info"):
        version = info.name.removeprefix("python_dateutil-").removesuffix(".dist-info")
        if int(version.split(".")[0]) >= 3:
            return (
                f"warning: python-dateutil {version} in the zip shadows the runtime's own, which its botocore "
                f"requires below 3: add `python-dateutil<3` to {requirements}"
            )
    return None


def deploy_template(template_path: Path, zips: dict[str, str], out_dir: Path) -> str:
    """The template with each packaged function's CodeUri on its zip (`zips`: logical id -> zip name) and every
    other local CodeUri seen from `out_dir`."""
    import yaml

    template: dict[str, Any] = load_template(template_path)
    base = template_path.resolve().parent

    def rebased(code_uri: Any) -> Any:
        if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
            return code_uri
        return os.path.relpath(base / code_uri, out_dir)

    function_props = (template.get("Globals") or {}).get("Function") or {}
    if "CodeUri" in function_props:
        function_props["CodeUri"] = rebased(function_props["CodeUri"])
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(props, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        if logical_id in zips:
            props["CodeUri"] = zips[logical_id]
        elif "CodeUri" in props:
            props["CodeUri"] = rebased(props["CodeUri"])
    header = f"# Generated by `make package` from {template_path.name}: deploy with `sam deploy --config-env zip`.\n"
    return header + yaml.safe_dump(template, sort_keys=False, allow_unicode=True, width=120)


def package(template_path: Path, function_id: str | None, out_dir: Path, log: TextIO) -> list[Path]:
    """Build `out_dir/<project>.zip`, or `<project>-<LogicalId>.zip` for each of several functions (the one named,
    else every one), and `out_dir/template.yaml`; the zips' paths."""
    functions = read_functions(template_path)
    if function_id is None and len(functions) > 1:
        chosen = list(functions.values())
    else:
        chosen = [select_function(functions, function_id)]
    for function in chosen:  # an unsupported target or a missing folder fails before any download
        platform_tags(function.runtime, function.architecture)
        if not function.code_dir.is_dir():
            raise RunnerError(
                f"CodeUri of {function.logical_id} is not a folder ({function.code_dir}): point it at code"
            )
    project = template_path.resolve().parent.name
    out_dir.mkdir(parents=True, exist_ok=True)
    deploy = out_dir / "template.yaml"
    remove_stale(deploy)
    zips = {}
    for function in chosen:
        stem = project if len(functions) == 1 else f"{project}-{function.logical_id}"
        zips[function.logical_id] = package_function(function, out_dir / f"{stem}.zip", log)
    with replacing(deploy) as stream:  # the zips' names do not change: either template goes with either zip
        stream.write(
            deploy_template(template_path, {name: path.name for name, path in zips.items()}, out_dir.resolve()).encode()
        )
    return list(zips.values())


def package_function(function: FunctionConfig, destination: Path, log: TextIO) -> Path:
    """One function's zip: its requirements.txt installed for its platform, its code folder over them."""
    remove_stale(destination)  # what a killed run left
    requirements = function.code_dir / "requirements.txt"
    with tempfile.TemporaryDirectory(prefix="package-") as scratch:
        dependencies = None
        if has_requirements(requirements):
            dependencies = Path(scratch) / "dependencies"
            install_dependencies(requirements, dependencies, function, log)
            warning = dateutil_warning(dependencies, _shown(requirements))
            if warning:
                log.write(warning + "\n")
        files = collect_files(function.code_dir, dependencies)
        unzipped = check_unzipped(files)
        zipped = write_zip(files, destination, log)
    log.write(
        f"{_shown(destination)}: {counted(len(files), 'file')}, {zipped / MB:.1f} MB zipped (limit 50), "
        f"{unzipped / MB:.1f} MB unzipped (limit 250), for {function.runtime} {function.architecture}\n"
    )
    return destination


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
