"""Killed and failing generations: afterwards the target is as it was or complete, and no work folder outlives
the next run.

`slsgen new` is killed with SIGKILL at moments spread over a whole generation (measured first), into a new
target and, under `--force`, into an earlier generation's folder holding a file of the user's. A placement is
also killed at each of its steps (a forked process that SIGKILLs itself), and rendering is made to fail midway.
After each, what the next run does first (`placement.recover`) must leave the target byte-identical to before,
or identical to a reference generation, and no `.NAME.slsgen-*` folder behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from generator import generate_project, render
from generator.errors import RenderError
from generator.placement import lock, open_journal, place, recover

NAME = "app"
EARLIER = {"memory": "256", "greeting": "Howdy", "trigger": "function-url"}  # differs in files and contents
KILL_RUNS = int(os.environ.get("SLSGEN_KILL_RUNS", "50"))
PARALLEL = 4


def note(**figures: object) -> None:
    """Append figures for bench/reliability.py (when it asks for them with SLSGEN_RELIABILITY_FIGURES)."""
    where = os.environ.get("SLSGEN_RELIABILITY_FIGURES")
    if where:
        with open(where, "a", encoding="utf-8") as out:
            out.write(json.dumps(figures) + "\n")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (links by target), by relative path: the state compared byte for byte.

    A repository's `.git/` counts as one entry, its first commit: its other files hold times and ids that differ
    from run to run.
    """
    files: dict[str, bytes] = {}
    if (folder / ".git").is_dir():
        head = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=folder, capture_output=True, check=False)
        files[".git/"] = head.stdout
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if relative == ".git" or relative.startswith(".git/"):
            continue
        if path.is_symlink():
            files[relative] = b"->" + os.readlink(path).encode()
        elif path.is_file():
            files[relative] = path.read_bytes()
        elif path.is_dir():
            files[relative + "/"] = b""
    return files


def leftovers(parent: Path) -> list[str]:
    return sorted(path.name for path in parent.glob(f".{NAME}.slsgen-*"))


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """The reference generation, and the earlier generation (plus a file of the user's) that --force replaces."""
    root = tmp_path_factory.mktemp("states")
    reference = generate_project("hello-world", NAME, output_dir=root / "reference").path
    earlier = generate_project("hello-world", NAME, output_dir=root / "earlier", options=EARLIER).path
    (earlier / "NOTES.md").write_text("the user's own file\n")
    (earlier / "template.yaml").write_text((earlier / "template.yaml").read_text() + "# edited by the user\n")
    repository = generate_project("hello-world", NAME, output_dir=root / "repository", git=True).path
    return {
        "reference": snapshot(reference),
        "earlier": snapshot(earlier),
        "earlier_path": {str(earlier): b""},
        "git_subject": {"": snapshot(repository)[".git/"]},
    }


def earlier_folder(states: dict[str, dict[str, bytes]]) -> Path:
    return Path(next(iter(states["earlier_path"])))


def check_after_recovery(parent: Path, states: dict[str, dict[str, bytes]], forced: bool) -> str:
    """Run what the next run runs first; return which state the target is in ("before" or "complete")."""
    target = parent / NAME
    recover(parent, NAME, target)
    assert leftovers(parent) == []
    if not target.exists():
        assert not forced, "a --force generation lost the existing folder"
        return "before"
    now = snapshot(target)
    if forced and now == states["earlier"]:
        return "before"
    expected = dict(states["reference"])
    if ".git/" in now:  # the command line makes a repository (before placing it), the library by default not
        expected[".git/"] = states["git_subject"][""]
    if forced:  # a completed --force run keeps the user's file and the changed template (the new one replaces it)
        expected["NOTES.md"] = states["earlier"]["NOTES.md"]
    assert now == expected, f"half-written target: {sorted(set(now) ^ set(expected))[:10]}"
    return "complete"


def command(parent: Path, forced: bool) -> list[str]:
    args = [sys.executable, "-m", "generator", "new", "hello-world", NAME, "--no-input", "-o", str(parent)]
    return [*args, "--force"] if forced else args


def run_killed(parent: Path, forced: bool, after: float | None) -> float:
    """Run one generation, SIGKILLed `after` seconds (None: let it finish); return how long it ran."""
    started = time.perf_counter()
    process = subprocess.Popen(command(parent, forced), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if after is None:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    else:
        try:
            process.wait(timeout=after)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()
    return time.perf_counter() - started


def test_sigkill_spread_across_a_whole_generation(tmp_path: Path, states: dict[str, dict[str, bytes]]) -> None:
    with ThreadPoolExecutor(PARALLEL) as pool:  # the duration under the same load as the killed runs
        durations = list(pool.map(lambda i: run_killed(tmp_path / f"measure{i}", False, None), range(PARALLEL)))
    duration = sorted(durations)[len(durations) // 2]
    # From just after the start to just past the usual end, evenly: import, answers, rendering, ruff, placement.
    moments = [duration * (0.02 + 1.08 * i / (KILL_RUNS - 1)) for i in range(KILL_RUNS)]

    def one(i: int) -> str:
        parent = tmp_path / f"run{i}"
        forced = i % 2 == 1
        if forced:
            shutil.copytree(earlier_folder(states), parent / NAME, symlinks=True)
        run_killed(parent, forced, moments[i])
        return check_after_recovery(parent, states, forced)

    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = list(pool.map(one, range(KILL_RUNS)))
    assert len(outcomes) == KILL_RUNS
    note(
        test="sigkill_spread",
        kills=KILL_RUNS,
        duration_s=round(duration, 2),
        before=outcomes.count("before"),
        complete=outcomes.count("complete"),
    )
    assert "before" in outcomes  # the kills did land during generations
    # The next real run after a kill completes, and leaves no work folder.
    parent = tmp_path / "run1"
    generate_project("hello-world", NAME, output_dir=parent, force=True)
    assert leftovers(parent) == []
    assert check_after_recovery(parent, states, True) == "complete"


def placement_steps(tmp_path: Path, states: dict[str, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch) -> int:
    """How many renames a --force placement over the earlier generation takes."""
    rendered, target = stage(tmp_path / "count", states)
    count = 0
    real = os.replace

    def counting(*args: object, **kwargs: object) -> None:
        nonlocal count
        count += 1
        real(*args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", counting)
        place(rendered, target, rendered.parent.parent / "replaced")
    return count


RENDERED: dict[str, Path] = {}


def stage(root: Path, states: dict[str, dict[str, bytes]]) -> tuple[Path, Path]:
    """A rendered project in a work folder beside a copy of the earlier generation, as `generate_project` has."""
    target = root / NAME
    shutil.copytree(earlier_folder(states), target, symlinks=True)
    workdir = root / f".{NAME}.slsgen-test"
    if "project" not in RENDERED:  # render once; each run places a copy
        from generator.blueprints import load_blueprint
        from generator.project import resolve_answers

        blueprint = load_blueprint("hello-world")
        once = root.parent / ".rendered"
        once.mkdir()
        RENDERED["project"] = render.render(blueprint, NAME, resolve_answers(blueprint), once)
    rendered = workdir / "out" / NAME
    shutil.copytree(RENDERED["project"], rendered, symlinks=True)
    return rendered, target


def die_at_rename(k: int, rendered: Path, target: Path, workdir: Path) -> None:
    """In a forked child: a generation's placement that is SIGKILLed right before its k-th rename."""
    try:
        lock(workdir)
        calls = 0
        real = os.replace

        def dying(*args: object, **kwargs: object) -> None:
            nonlocal calls
            if calls == k:
                os.kill(os.getpid(), signal.SIGKILL)
            calls += 1
            real(*args, **kwargs)  # type: ignore[arg-type]

        os.replace = dying  # type: ignore[assignment]
        with open_journal(workdir, target) as log:
            place(rendered, target, workdir / "replaced", log)
        os.kill(os.getpid(), signal.SIGKILL)  # finished: die before cleaning up, as a late kill would
    finally:
        os._exit(1)


def test_sigkill_at_every_step_of_a_placement(
    tmp_path: Path, states: dict[str, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child process places the project and SIGKILLs itself right before its k-th rename (k spread over all)."""
    steps = placement_steps(tmp_path, states, monkeypatch)
    assert steps > 20
    outcomes = []
    moments = sorted({0, 1, steps - 1, steps, *range(0, steps + 1, max(1, steps // 24))})  # first, last, spread
    for k in moments:
        root = tmp_path / f"k{k}"
        rendered, target = stage(root, states)
        workdir = rendered.parent.parent
        pid = os.fork()
        if pid == 0:
            die_at_rename(k, rendered, target, workdir)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == signal.SIGKILL
        outcomes.append(check_after_recovery(root, states, True))
    note(test="sigkill_placement", kills=len(moments), renames=steps, before=outcomes.count("before"))
    assert outcomes[:-1] == ["before"] * (len(moments) - 1)  # every kill before the last rename: as before
    assert outcomes[-1] == "complete"


def test_a_run_in_progress_keeps_its_work_folder(tmp_path: Path) -> None:
    """Only folders nobody holds locked are cleaned up: a concurrent generation keeps its own."""
    busy = tmp_path / f".{NAME}.slsgen-busy"
    busy.mkdir()
    (busy / "stage").mkdir()
    stale = tmp_path / f".{NAME}.slsgen-stale"
    (stale / "out").mkdir(parents=True)
    other = tmp_path / ".other.slsgen-stale"
    other.mkdir()
    held = lock(busy)
    try:
        assert held is not None
        generate_project("hello-world", NAME, output_dir=tmp_path)
        assert leftovers(tmp_path) == [busy.name]
        assert other.is_dir()  # another project's: not this run's business
    finally:
        if held is not None:
            os.close(held)
    recover(tmp_path, NAME, tmp_path / NAME)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("forced", [False, True])
def test_rendering_that_fails_midway_writes_nothing(
    tmp_path: Path, states: dict[str, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch, forced: bool
) -> None:
    """Rendering fails after half the files are written (at the runner's copy): the target is as it was."""

    def broken(project: Path) -> None:
        (project / "lambda_runner").mkdir()
        (project / "lambda_runner" / "half.py").write_text("# half\n")
        raise RenderError("the disk is full (simulated)")

    monkeypatch.setattr(render, "copy_runner", broken)
    if forced:
        shutil.copytree(earlier_folder(states), tmp_path / NAME, symlinks=True)
    with pytest.raises(RenderError):
        generate_project("hello-world", NAME, output_dir=tmp_path, force=forced)
    assert leftovers(tmp_path) == []
    if forced:
        assert snapshot(tmp_path / NAME) == states["earlier"]
    else:
        assert not (tmp_path / NAME).exists()


def test_a_failed_undo_keeps_the_originals_for_the_user(tmp_path: Path) -> None:
    """A run that could not put a file back (its error named its folder) keeps that folder; the next run too."""
    target = tmp_path / NAME
    target.mkdir()
    (target / "Makefile").write_text("placed by the failed run")
    kept = tmp_path / f".{NAME}.slsgen-failed"
    (kept / "replaced").mkdir(parents=True)
    (kept / "replaced" / "Makefile").write_text("the user's original")
    lines = [{"target": str(target)}, ["aside", "Makefile"], ["placed", "Makefile"], "undone"]
    (kept / "journal").write_text("".join(json.dumps(line) + "\n" for line in lines))
    recover(tmp_path, NAME, target)
    assert (kept / "replaced" / "Makefile").read_text() == "the user's original"
    assert (target / "Makefile").read_text() == "placed by the failed run"  # not undone a second time


def test_a_journal_of_another_target_is_not_replayed(tmp_path: Path) -> None:
    target = tmp_path / NAME
    target.mkdir()
    (target / "Makefile").write_text("mine")
    other = tmp_path / f".{NAME}.slsgen-other"
    other.mkdir()
    lines = [{"target": str(tmp_path / "elsewhere")}, ["placed", "Makefile"]]
    (other / "journal").write_text("".join(json.dumps(line) + "\n" for line in lines))
    recover(tmp_path, NAME, target)
    assert (target / "Makefile").read_text() == "mine"
    assert leftovers(tmp_path) == [other.name]  # that target's next run recovers it


def test_folders_of_update_and_unjournaled_originals_are_left_alone(tmp_path: Path) -> None:
    """`slsgen update` keeps its own work folders, and originals without a journal are never deleted."""
    update = tmp_path / f".{NAME}.slsgen-update-abc"
    (update / "replaced").mkdir(parents=True)
    (update / "replaced" / "Makefile").write_text("original")
    unjournaled = tmp_path / f".{NAME}.slsgen-xyz"
    (unjournaled / "replaced").mkdir(parents=True)
    (unjournaled / "replaced" / "Makefile").write_text("original")
    recover(tmp_path, NAME, tmp_path / NAME)
    assert leftovers(tmp_path) == sorted([update.name, unjournaled.name])
