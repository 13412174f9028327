"""`slsgen package` of the image-resize project against the floor: `pip install --target` + `python -m zipfile`.

    python bench/bench_package.py [--runs 5] [--arch arm64]

The bench generates an image-resize project (library API) with a `.venv` over this interpreter's packages (what
`slsgen package` hands over to), then times, whole process and alternately, with pip's cache warm (one untimed run
of each first):

- slsgen: `slsgen package DIR` (the project's runner: pip for the target platform into a fresh folder, then a
  sorted, fixed-date zip, the size checks and dist/template.yaml);
- floor: what a user types without a tool, one `sh -c`: `pip install -r src/requirements.txt --target T
  --platform manylinux_2_28_<arch> --platform manylinux2014_<arch> --implementation cp --python-version 3.13
  --only-binary=:all:`, `cp -R src/. T`, `python -m zipfile -c out.zip T/*`.

Both use the same interpreter, pip and pip cache. The table gives the median of `--runs` runs and slsgen's time
as a ratio of the floor's.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator import new_project  # noqa: E402

WHEEL_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def floor_command(project: Path, work: Path, arch: str) -> list[str]:
    wheel = WHEEL_ARCH[arch]
    target, archive = work / "target", work / "floor.zip"
    script = (
        f"rm -rf {target} {archive} && "
        f"{sys.executable} -m pip install --quiet -r src/requirements.txt --target {target} "
        f"--platform manylinux_2_28_{wheel} --platform manylinux2014_{wheel} --implementation cp "
        f"--python-version 3.13 --only-binary=:all: && "
        f"cp -R src/. {target}/ && cd {target} && {sys.executable} -m zipfile -c {archive} *"
    )
    return ["sh", "-c", script]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--arch", choices=sorted(WHEEL_ARCH), default="arm64")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-package-") as scratch:
        work = Path(scratch)
        project = new_project("image-resize", "bench-resize", output_dir=work, options={"architecture": args.arch})
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(project / ".venv")], check=True)
        commands = {
            "slsgen": [sys.executable, "-m", "generator", "package", str(project)],
            "floor": floor_command(project, work, args.arch),
        }
        for command in commands.values():  # warm pip's cache and the file system
            timed(command, project)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(timed(command, project))
        zipped = (project / "dist" / "bench-resize.zip").stat().st_size / 1024 / 1024
        floor_zip = (work / "floor.zip").stat().st_size / 1024 / 1024
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"image-resize ({args.arch}, python3.13), median of {args.runs} runs, pip cache warm\n")
    print("| case | median | runs | zip |")
    print("| --- | --- | --- | --- |")
    for name, size in (("slsgen", zipped), ("floor", floor_zip)):
        runs = ", ".join(f"{value:.2f}" for value in times[name])
        print(f"| {name} | {median[name]:.2f} s | {runs} | {size:.1f} MB |")
    print(f"\nslsgen / floor: {median['slsgen'] / median['floor']:.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
