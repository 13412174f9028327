"""Time to green: from `slsgen new hello-world` to a passing `make test`, against AWS SAM's hello world.

What every developer (and every CI run) pays before the first green test, with a warm package cache:

  slsgen, uv      slsgen new hello-world + make test, uv on PATH (the Makefile uses it)
  slsgen, pip     the same with no uv on PATH: the Makefile bootstraps uv into .venv with pip
  sam, pip        sam init (its bundled hello-world template) + python -m venv + pip install -r
                  tests/requirements.txt + pytest tests/unit (SAM's documented path)

`make test` installs only the function's dependencies and the `test` group (pytest, pytest-cov, PyYAML): ruff,
cfn-lint and awslambdaric come with the targets that run them. Each variant runs once untimed to warm the caches,
then RUNS times; the medians are compared: slsgen with pip only at most 1x SAM's time, with uv at most 0.5x.

    bash bench/setup.sh && .bench/venv/bin/python bench/bench_time_to_green.py [--runs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_new import find_template, make_home
from common import DEFAULT_VENV, BenchError, Env, find_uv, tool_env, version_of

PROJECT = "green-app"
RUNTIME = "python3.13"
PY_VERSION = "3.13"
ALLOW_FAIL = "#may-fail"  # a marker at the end of a step's argv: its exit code is reported, not fatal


@dataclass
class Variant:
    """One way from nothing to a green test: `steps(out)` lists its commands, each (argv, cwd)."""

    name: str
    steps: object
    env: Env
    times: list[float] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def runtime_python() -> str:
    """The runtime's Python for both sides: python3.13 on PATH, else pyenv's."""
    found = shutil.which(f"python{PY_VERSION}")
    if found and subprocess.run([found, "-c", ""], capture_output=True, check=False).returncode == 0:
        return found
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    builds = sorted(pyenv.glob(f"{PY_VERSION}*/bin/python{PY_VERSION}"))
    if not builds:
        raise BenchError(f"python{PY_VERSION} not found (pyenv install {PY_VERSION})")
    return str(builds[-1])


def without_uv(env: Env, python: str) -> Env:
    """PATH with no uv on it (the bench venv's bin holds slsgen and sam, not uv), the runtime's Python first."""
    entries = [entry for entry in env["PATH"].split(os.pathsep) if not (Path(entry) / "uv").exists()]
    return {**env, "PATH": os.pathsep.join([str(Path(python).parent), *entries])}


def run_steps(variant: Variant, out: Path) -> float:
    start = time.perf_counter()
    for step, cwd in variant.steps(out):  # type: ignore[operator]
        may_fail = step[-1] == ALLOW_FAIL
        argv = step[:-1] if may_fail else step
        result = subprocess.run(argv, cwd=cwd, env=variant.env, capture_output=True, text=True, check=False)
        if result.returncode != 0 and may_fail:
            variant.notes.add(f"{' '.join(map(str, argv[-3:]))} exited {result.returncode}")
        elif result.returncode != 0:
            raise BenchError(
                f"{variant.name}: {' '.join(map(str, argv))} exited {result.returncode}:\n"
                f"{(result.stdout + result.stderr)[-2000:]}"
            )
    return time.perf_counter() - start


def variants(bin_dir: Path, env: Env, python: str, uv: str) -> list[Variant]:
    template = find_template(bin_dir / "python")
    slsgen = [str(bin_dir / "slsgen")]
    pip_env = without_uv(env, python)
    uv_env = {**pip_env, "PATH": f"{Path(uv).parent}{os.pathsep}{pip_env['PATH']}"}

    def slsgen_steps(out: Path) -> list[tuple[list[str], Path]]:
        new = [*slsgen, "new", "hello-world", PROJECT, "--no-input", "--no-git", "--runtime", RUNTIME, "-o", str(out)]
        return [(new, out), (["make", "test", f"PYTHON={python}"], out / PROJECT)]

    def sam_steps(out: Path) -> list[tuple[list[str], Path]]:
        init = [
            str(bin_dir / "sam"),
            "init",
            "--no-interactive",
            "--no-input",
            "--location",
            str(template),
            "--name",
            PROJECT,
            "--extra-context",
            json.dumps({"runtime": RUNTIME}),
            "--output-dir",
            str(out),
        ]
        project = out / PROJECT
        pip = [
            str(project / ".venv" / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        return [
            (init, out),
            ([python, "-m", "venv", ".venv"], project),
            # The bundled template has no tests/requirements.txt (app-templates' has pytest, boto3, requests): its
            # tests need pytest and the function's requirements, the least SAM's side can install.
            ([*pip, "pytest", "-r", "hello_world/requirements.txt"], project),
            # SAM's unit test imports hello_world.app from the project root; its exit code is not SAM's time.
            ([str(project / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "tests/unit", ALLOW_FAIL], project),
        ]

    return [
        Variant("slsgen new + make test (uv)", slsgen_steps, uv_env),
        Variant("slsgen new + make test (pip only)", slsgen_steps, pip_env),
        Variant("sam init + venv + pip + pytest", sam_steps, pip_env),
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="bench venv (bench/setup.sh)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the medians here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bin_dir = args.venv / "bin"
    uv = find_uv()
    if not (bin_dir / "sam").exists() or not (bin_dir / "slsgen").exists() or uv is None:
        raise BenchError(f"run bash bench/setup.sh first (sam and slsgen in {bin_dir}) and have uv installed")
    python = runtime_python()
    with tempfile.TemporaryDirectory(prefix="slsgen-green-") as scratch:
        home, _ = make_home(Path(scratch))
        env = tool_env(home, args.venv)
        env.pop("UV_CACHE_DIR", None)
        # The user's pip and uv caches stay (a warm cache is the common case): HOME is throw-away for sam only.
        env.update(XDG_CACHE_HOME=os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")))
        env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
        env.setdefault("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
        cases = variants(bin_dir, env, python, uv)
        for index in range(args.runs + 1):  # the first round warms the caches and is not counted
            for case in cases:
                out = Path(scratch) / f"run-{index}-{len(case.times)}-{cases.index(case)}"
                out.mkdir()
                elapsed = run_steps(case, out)
                if index:
                    case.times.append(elapsed)
                shutil.rmtree(out, ignore_errors=True)
        uv_case, pip_case, sam_case = cases
        print(
            f"python {version_of([python, '--version'], env)}, {version_of([uv, '--version'], env)}, "
            f"{version_of([str(bin_dir / 'sam'), '--version'], env)}; {args.runs} runs, medians, warm caches"
        )
        for case in cases:
            spread = f"{min(case.times):.2f}-{max(case.times):.2f}"
            print(f"  {case.name:<36} {case.median:6.2f} s  ({spread})  {case.median / sam_case.median:.2f}x sam")
            for note in sorted(case.notes):
                print(f"    note: {note}")
        ok_pip = pip_case.median <= sam_case.median
        ok_uv = uv_case.median <= 0.5 * sam_case.median
        print(f"{'PASS' if ok_pip else 'FAIL'}: pip only {pip_case.median / sam_case.median:.2f}x sam (target <= 1x)")
        print(f"{'PASS' if ok_uv else 'FAIL'}: uv {uv_case.median / sam_case.median:.2f}x sam (target <= 0.5x)")
        if args.json:
            medians = {case.name: case.median for case in cases}
            args.json.write_text(json.dumps({"medians_s": medians, "runs": args.runs}, indent=2) + "\n")
    return 0 if ok_pip and ok_uv else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
