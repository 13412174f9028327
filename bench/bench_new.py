"""Time `slsgen new hello-world` against `sam init` and plain `cookiecutter` on SAM's own hello-world template.

    python bench/bench_new.py --runs 10

Every measurement is one whole process (start-up, imports, work, exit) timed with `time.perf_counter` around
`subprocess.run`, each run into a fresh temporary folder that is made before and removed after the timed part.
A run is only counted once its output has been checked (exit code 0 and the expected files); a run that fails
stops the bench with its error instead of being timed. Tools alternate within each round, so drift (thermal,
page cache, a noisy neighbour) spreads over all of them alike.

The tools come from a separate virtualenv (default `.bench/venv`, git-ignored), made or refreshed by
`bench/setup.sh`: aws-sam-cli, cookiecutter, and slsgen installed non-editable from this checkout. Pass
`--slsgen-current` to measure the slsgen of the interpreter running this script instead (an editable install, say).

All tools share one throw-away HOME: sam's settings there have telemetry off and the weekly PyPI version check
marked as done, and cookiecutter gets a clean config file and replay folder, so nothing touches the network or
the real home folder. See bench/README.md for what each tool does in the measured time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import DEFAULT_VENV, BenchError, Env, print_times, run_setup, tool_env, version_of

PROJECT = "bench-app"
RUNTIME = "python3.13"
TEMPLATE_NAME = "cookiecutter-aws-sam-hello-python"


@dataclass
class Case:
    """One command to time: `argv(out)` builds its arguments for a fresh output folder, `check` verifies it."""

    name: str
    argv: Callable[[Path], list[str]]
    check: Callable[[Path, subprocess.CompletedProcess[str]], str | None]
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


# ---------------------------------------------------------------------------------------------------------------
# Environment


def find_template(python: Path) -> Path:
    """The Python hello-world cookiecutter template that aws-sam-cli ships inside its package."""
    code = "import pathlib, samcli; print(pathlib.Path(samcli.__file__).parent)"
    package = Path(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip())
    candidates = sorted(package.glob(f"**/init/templates/{TEMPLATE_NAME}/cookiecutter.json"))
    if not candidates:
        others = package.glob("**/init/templates/*/cookiecutter.json")
        found = sorted(str(path.parent.relative_to(package)) for path in others)
        raise BenchError(f"no {TEMPLATE_NAME} in {package}; templates there: {found or 'none'}")
    return candidates[0].parent


def make_home(base: Path) -> tuple[Path, Path]:
    """A throw-away HOME for every tool, and a clean cookiecutter config file inside it."""
    home = base / "home"
    sam_dir = home / ".aws-sam"
    sam_dir.mkdir(parents=True)
    # sam asks PyPI for a newer version once a week, after the command, inside the measured time: mark it done.
    metadata = {"lastVersionCheck": time.time(), "telemetryEnabled": False, "installationId": "slsgen-bench"}
    (sam_dir / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    config = home / "cookiecutter-config.yaml"
    config.write_text(
        f'cookiecutters_dir: "{home / "cookiecutters"}"\nreplay_dir: "{home / "cookiecutter_replay"}"\n'
        "default_context: {}\nabbreviations: {}\n",
        encoding="utf-8",
    )
    return home, config


# ---------------------------------------------------------------------------------------------------------------
# Cases


def expect_files(*relative: str, contains: dict[str, str] | None = None):
    """A check that the run exited 0 and left `out/<PROJECT>/<each relative path>` (with some text in some)."""

    def check(out: Path, result: subprocess.CompletedProcess[str]) -> str | None:
        if result.returncode != 0:
            return f"exit code {result.returncode}"
        project = out / PROJECT
        for path in relative:
            if not (project / path).is_file() or (project / path).stat().st_size == 0:
                made = sorted(str(p.relative_to(out)) for p in out.rglob("*"))[:20]
                return f"missing {project / path}; the run made: {made}"
        for path, text in (contains or {}).items():
            if text not in (project / path).read_text(encoding="utf-8"):
                return f"{project / path} does not contain {text!r}"
        return None

    return check


def expect_usage(out: Path, result: subprocess.CompletedProcess[str]) -> str | None:
    if result.returncode != 0:
        return f"exit code {result.returncode}"
    if "Usage" not in result.stdout:
        return "no 'Usage' in the help text"
    return None


def new_cases(slsgen: list[str], bin_dir: Path, template: Path, cookiecutter_config: Path) -> list[Case]:
    """The three ways to make a hello-world project, in table order (slsgen first: ratios are against it)."""
    sam_flags = ["--no-interactive", "--no-input", "--architecture", "arm64", "--location", str(template)]
    sam_context = ["--name", PROJECT, "--extra-context", json.dumps({"runtime": RUNTIME})]
    cookiecutter_flags = ["--no-input", "--config-file", str(cookiecutter_config), "--accept-hooks", "no"]
    cookiecutter_context = [f"project_name={PROJECT}", f"runtime={RUNTIME}"]
    sam_files = expect_files("template.yaml", "hello_world/app.py", contains={"template.yaml": RUNTIME})

    def slsgen_new(out: Path) -> list[str]:
        return [*slsgen, "new", "hello-world", PROJECT, "--no-input", "--runtime", RUNTIME, "-o", str(out)]

    def sam_init(out: Path) -> list[str]:
        return [str(bin_dir / "sam"), "init", *sam_flags, *sam_context, "--output-dir", str(out)]

    def cookiecutter(out: Path) -> list[str]:
        return [
            str(bin_dir / "cookiecutter"),
            *cookiecutter_flags,
            "-o",
            str(out),
            str(template),
            *cookiecutter_context,
        ]

    slsgen_files = expect_files(
        "template.yaml", ".slsgen.json", "events/hello.json", contains={"template.yaml": RUNTIME}
    )
    return [
        Case("slsgen new hello-world", slsgen_new, slsgen_files),
        Case("sam init --location", sam_init, sam_files),
        Case("cookiecutter --no-input", cookiecutter, sam_files),
    ]


def help_cases(slsgen: list[str], bin_dir: Path) -> list[Case]:
    return [
        Case("slsgen --help", lambda out: [*slsgen, "--help"], expect_usage),
        Case("sam --help", lambda out: [str(bin_dir / "sam"), "--help"], expect_usage),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Running


def run_once(case: Case, scratch: Path, env: Env, wrapper: list[str]) -> float:
    """Run `case` once into a fresh folder; return its wall-clock seconds, or raise if the run failed."""
    out = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    try:
        argv = [*wrapper, *case.argv(out)]
        start = time.perf_counter()
        result = subprocess.run(
            argv, cwd=out, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - start
        problem = case.check(out, result)
        if problem:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise BenchError(f"{case.name} failed ({problem}); not timed.\n  command: {shlex.join(argv)}\n{tail}")
        return elapsed
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run_group(cases: list[Case], runs: int, warmup: int, scratch: Path, env: Env, wrapper: list[str]) -> None:
    for case in cases:
        for _ in range(warmup):
            run_once(case, scratch, env, wrapper)
    for index in range(runs):
        shift = index % len(cases)
        for case in cases[shift:] + cases[:shift]:
            case.times.append(run_once(case, scratch, env, wrapper))
        progress = ", ".join(f"{case.name.split()[0]} {case.times[-1] * 1000:.0f} ms" for case in cases)
        print(f"  round {index + 1}/{runs}: {progress}", file=sys.stderr)


def run_hyperfine(cases: list[Case], runs: int, warmup: int, scratch: Path, env: Env, wrapper: list[str]) -> None:
    """The same commands through hyperfine, for its statistics; each run gets an emptied output folder."""
    out = scratch / "hyperfine-out"
    out.mkdir(exist_ok=True)
    argv = ["hyperfine", "--style", "basic", "--runs", str(runs), "--warmup", str(warmup), "--shell", "none"]
    prepare = f"rm -rf {shlex.quote(str(out))}"
    for case in cases:
        argv += ["--prepare", f"sh -c {shlex.quote(f'{prepare} && mkdir -p {shlex.quote(str(out))}')}"]
        argv += ["--command-name", case.name, shlex.join([*wrapper, *case.argv(out)])]
    subprocess.run(argv, env=env, check=True, cwd=scratch)


# ---------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per tool (default 10)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per tool first (default 1)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="bench virtualenv (default .bench/venv)")
    parser.add_argument("--no-setup", action="store_true", help="use the bench venv as it is (no bench/setup.sh)")
    parser.add_argument(
        "--slsgen-current",
        action="store_true",
        help="time the slsgen of the interpreter running this script, not the bench venv's",
    )
    parser.add_argument("--target", type=float, default=0.5, help="slsgen / sam init median ratio to pass (0.5)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--offline", action="store_true", help="run every command in a namespace with no network")
    parser.add_argument("--hyperfine", action="store_true", help="also run the commands through hyperfine")
    parser.add_argument("--skip-help", action="store_true", help="do not time `slsgen --help` and `sam --help`")
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    venv = args.venv.resolve()
    try:
        setup_seconds = None if args.no_setup else run_setup(venv)
        bin_dir = venv / "bin"
        for tool in ("python", "sam", "cookiecutter"):
            if not (bin_dir / tool).exists():
                raise BenchError(f"{bin_dir / tool} is missing: run bash bench/setup.sh (or drop --no-setup)")
        if args.slsgen_current:
            local = Path(sys.executable).parent / "slsgen"
            fallback = [sys.executable, "-c", "from generator.cli import main; main()"]
            slsgen = [str(local)] if local.exists() else fallback
        else:
            slsgen = [str(bin_dir / "slsgen")]
        template = find_template(bin_dir / "python")
        wrapper: list[str] = []
        if args.offline:
            wrapper = ["unshare", "--net", "--"]
            if subprocess.run([*wrapper, "true"], capture_output=True, check=False).returncode != 0:
                raise BenchError("--offline needs `unshare --net` (root or user namespaces)")

        with tempfile.TemporaryDirectory(prefix="slsgen-bench-") as tmp:
            scratch = Path(tmp)
            home, cookiecutter_config = make_home(scratch)
            env = tool_env(home, venv)
            versions = {
                "slsgen": version_of([*slsgen, "--version"], env),
                "sam": version_of([str(bin_dir / "sam"), "--version"], env),
                "cookiecutter": version_of([str(bin_dir / "cookiecutter"), "--version"], env).split(" from ")[0],
                "python": version_of([str(bin_dir / "python"), "--version"], env),
            }
            print(
                f"bench: {platform.node()}, {os.cpu_count()} cores, {args.runs} runs + {args.warmup} warm-up per tool"
                f"{', offline' if args.offline else ''}"
            )
            print(f"venv:  {venv}" + (f" (setup {setup_seconds:.1f} s)" if setup_seconds is not None else ""))
            print("tools: " + "; ".join(f"{v}" for v in versions.values()))
            print(f"slsgen: {shlex.join(slsgen)}")
            print(f"template: {template}")

            groups = [("new project (ms, whole process)", new_cases(slsgen, bin_dir, template, cookiecutter_config))]
            if not args.skip_help:
                groups.append(("--help (ms, whole process)", help_cases(slsgen, bin_dir)))
            for title, cases in groups:
                print(f"timing {title} ...", file=sys.stderr)
                run_group(cases, args.runs, args.warmup, scratch, env, wrapper)

            for title, cases in groups:
                print_times(title, cases, first="tool", ratio="x slsgen")
            new, sam_init = groups[0][1][0], groups[0][1][1]
            ratio = new.median / sam_init.median
            passed = ratio <= args.target
            print(
                f"\n{'PASS' if passed else 'FAIL'}: slsgen new / sam init = {ratio:.2f}x "
                f"({new.median * 1000:.0f} ms / {sam_init.median * 1000:.0f} ms; target <= {args.target:.2f}x)"
            )
            if len(groups) > 1:
                slsgen_help, sam_help = groups[1][1]
                print(
                    f"info: slsgen --help / sam --help = {slsgen_help.median / sam_help.median:.2f}x "
                    f"({slsgen_help.median * 1000:.0f} ms / {sam_help.median * 1000:.0f} ms)"
                )

            if args.json:
                report = {
                    "runs": args.runs,
                    "warmup": args.warmup,
                    "cores": os.cpu_count(),
                    "offline": args.offline,
                    "versions": versions,
                    "template": str(template),
                    "setup_seconds": setup_seconds,
                    "ratio_new_vs_sam": ratio,
                    "target": args.target,
                    "passed": passed,
                    "cases": {
                        c.name: {"median_ms": c.median * 1000, "times_ms": [t * 1000 for t in c.times]}
                        for _, cases in groups
                        for c in cases
                    },
                }
                args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

            if args.hyperfine:
                if shutil.which("hyperfine"):
                    for title, cases in groups:
                        print(f"\nhyperfine: {title}")
                        sys.stdout.flush()
                        run_hyperfine(cases, args.runs, args.warmup, scratch, env, wrapper)
                else:
                    print("\nhyperfine is not installed: skipped (apt-get install hyperfine)")
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"bench failed: {shlex.join(map(str, exc.cmd))} exited {exc.returncode}", file=sys.stderr)
        return 2
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
