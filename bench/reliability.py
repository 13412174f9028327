"""The long versions of slsgen's reliability tests, and their figures (RELIABILITY.md).

    .venv/bin/python bench/reliability.py                  # fuzz x10, 200 kills, 100,000 invocations, 60 s load
    .venv/bin/python bench/reliability.py --quick          # the CI sizes, for a look at the figures

Prints: fuzz cases tried, faults injected (kills of new, update and package; raising / timing-out / oversized
invocations), invocations, requests, peak memory, the runner's memory growth from its 1,000th invocation to its
last (Python's, traced, and RSS), and anything lost or mixed up (expected: 0). Exit 1 when a test failed or
anything was lost or mixed up. Loopback only; everything stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "runner"))

import test_soak  # noqa: E402  (the soak and load drivers the CI tests use)


def pytest(paths: list[str], env: dict[str, str]) -> tuple[bool, str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", *paths]
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    return result.returncode == 0, result.stdout + result.stderr


def failure_excerpt(output: str) -> str:
    """pytest's report of the failures (the failing case and its assertion), not the statistics printed after it."""
    start = output.find("= FAILURES =")
    end = output.find("short test summary info")
    report = output[start:end] if 0 <= start < end else output
    return report[:6000] + "\n" + output[-1500:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the CI sizes")
    parser.add_argument("--fuzz-scale", type=float, default=10.0, help="multiplies every fuzz test's cases")
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLed generations, spread over one")
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--timeouts", type=int, default=20, help="of the invocations, those that time out (1 s each)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="start-api load duration")
    args = parser.parse_args()
    if args.quick:
        args.fuzz_scale, args.kills, args.invocations, args.timeouts, args.seconds = 1.0, 50, 5_000, 3, 8.0
    failures: list[str] = []
    figures: dict[str, object] = {}

    started = time.monotonic()
    ok, output = pytest(
        ["tests/test_fuzz_cli.py", "tests/test_fuzz_config.py", "tests/test_fuzz_runner.py"],
        {"SLSGEN_FUZZ_SCALE": str(args.fuzz_scale)},
    )
    cases = sum(int(found) for found in re.findall(r"(\d+) passing(?: examples)?,", output))
    failing = sum(int(found) for found in re.findall(r"(\d+) failing(?: examples)?,", output))
    figures["fuzz"] = {"cases": cases, "failing": failing, "passed": ok, "seconds": round(time.monotonic() - started)}
    if not ok:
        failures.append("fuzz:\n" + failure_excerpt(output))

    started = time.monotonic()
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as notes:
        ok, output = pytest(
            ["tests/test_killed_generations.py"],
            {"SLSGEN_KILL_RUNS": str(args.kills), "SLSGEN_RELIABILITY_FIGURES": notes.name},
        )
        killed = [json.loads(line) for line in notes.read().splitlines() if line.strip()]
    figures["killed"] = {"runs": killed, "passed": ok, "seconds": round(time.monotonic() - started)}
    if not ok:
        failures.append("killed generations:\n" + failure_excerpt(output))

    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        soak = test_soak.soak(Path(folder) / "soak", args.invocations, args.timeouts)
        soak["seconds"] = round(time.monotonic() - started)
        figures["soak"] = soak
        started = time.monotonic()
        figures["load"] = test_soak.load(Path(folder) / "load", args.clients, args.seconds)
    if soak["lost"] or soak["mixed_up"] or soak["found"] != soak["expected"]:
        failures.append("soak: lost, mixed up or misreported invocations")
    if soak["rss_drift_mb"] >= test_soak.RSS_DRIFT_MB:
        failures.append(f"soak: the runner's memory drifted by {soak['rss_drift_mb']} MB")
    if soak["traced_bytes_per_invocation"] >= test_soak.TRACED_BYTES_PER_INVOCATION:
        failures.append(f"soak: the runner's Python memory grew {soak['traced_bytes_per_invocation']} B an invocation")
    load = figures["load"]
    assert isinstance(load, dict)
    if load["dropped"] or load["mixed_up"] or load["bad_status"] or not load["server_alive"]:
        failures.append("load: dropped, mixed up or failed requests")

    print(json.dumps(figures, indent=2))
    kills = sum(int(run["kills"]) for run in killed)
    by_test = ", ".join(f"{run['test']} {run['kills']}" for run in killed)
    rss_at = soak["rss_mb_at"]
    print(
        f"\nfuzz cases: {cases}  |  faults injected: {kills} SIGKILLs ({by_test}) + {soak['faults']} failing "
        f"invocations  |  invocations: {soak['invocations']}  |  start-api requests: {load['requests']} from "
        f"{load['clients']} clients  |  peak RSS: runner {soak['rss_peak_mb']} MB, start-api {load['rss_peak_mb']} MB"
        f"  |  runner memory from invocation {min(rss_at)} to {max(rss_at)}: traced "
        f"{soak['traced_growth_kb']} KB ({soak['traced_bytes_per_invocation']} B each), RSS "
        f"{rss_at[min(rss_at)]} -> {rss_at[max(rss_at)]} MB  |  "
        f"lost: {soak['lost'] + load['dropped']}  mixed up: {soak['mixed_up'] + load['mixed_up']}"
    )
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
