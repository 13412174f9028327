"""Killed and failing generations: afterwards the target is as it was or complete, and no work folder outlives
the next run.

`slsgen new` is killed with SIGKILL at moments spread over a whole generation (measured first), into a new
target and, under `--force`, into an earlier generation's folder holding a file of the user's. A placement is
also killed at each of its steps (a forked process that SIGKILLs itself), and rendering is made to fail midway.
After each, what the next run does first (`placement.recover`) must leave the target byte-identical to before,
or identical to a reference generation, and no `.NAME.slsgen-*` folder behind.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from lambda_runner.errors import RunnerError
from lambda_runner.project import package as package_module
from lambda_runner.project.package import collect_files, remove_stale, replacing, write_zip

from generator import generate_project, render
from generator.errors import RenderError
from generator.placement import lock, open_journal, place, recover, remove_workdir
from generator.update import continue_update, update_project

NAME = "app"
EARLIER = {"memory": "256", "greeting": "Howdy", "trigger": "function-url"}  # differs in files and contents
KILL_RUNS = int(os.environ.get("SLSGEN_KILL_RUNS", "50"))
UPDATE_KILL_RUNS = max(30, KILL_RUNS * 3 // 5)
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


def inventory(parent: Path) -> str:
    """What the work folders left in `parent` hold (their journals in full): the message of a failed check."""
    lines = []
    for workdir in sorted(parent.glob(f".{NAME}.slsgen-*")):
        paths = sorted(path.relative_to(workdir).as_posix() for path in workdir.rglob("*"))
        lines.append(f"{workdir.name}: {len(paths)} paths, first {paths[:8]}")
        if (workdir / "journal").is_file():
            lines.append(f"journal: {(workdir / 'journal').read_text()[-600:]!r}")
    return "\n".join(lines)


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


def wait_until_unlocked(parent: Path, seconds: float = 10) -> None:
    """Wait until no process holds a work folder in `parent` locked, as the next run some time after a kill finds it.

    A child that slsgen forked holds the lock from the fork until it runs its command (or ends, seeing slsgen
    gone): recovering within that millisecond would skip the folder as one in use. Still locked after `seconds`,
    a child outlived slsgen, which is a defect.
    """
    import fcntl

    deadline = time.monotonic() + seconds
    for workdir in parent.glob(f".{NAME}.slsgen-*"):
        descriptor = os.open(workdir, os.O_RDONLY)
        try:
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    assert time.monotonic() < deadline, f"{workdir.name} is still locked: a child outlived slsgen"
                    time.sleep(0.01)
        finally:
            os.close(descriptor)


def check_after_recovery(parent: Path, states: dict[str, dict[str, bytes]], forced: bool) -> str:
    """Run what the next run runs first; return which state the target is in ("before" or "complete")."""
    target = parent / NAME
    wait_until_unlocked(parent)
    recover(parent, NAME, target)
    assert leftovers(parent) == [], inventory(parent)
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
    return run_or_kill(command(parent, forced), after)


def run_or_kill(arguments: list[str], after: float | None) -> float:
    """Run `arguments`, SIGKILLed `after` seconds (None: let it finish and require success); return how long it ran."""
    started = time.perf_counter()
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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


def kill_moments(duration: float, runs: int) -> list[float]:
    """When to kill each of `runs` runs of a command that usually takes `duration` seconds.

    Evenly from just after the start to just past the usual end (import, answers, rendering, ruff, placement), and
    the last well past it: killed runs share the machine with the recoveries and clean-ups of others, so they can be
    slower than the measured ones, and a spread that ends at 1.08x can miss every end under load (it did, in CI).
    """
    spread = [duration * (0.02 + 1.06 * i / (runs - 2)) for i in range(runs - 1)]
    return [*spread, duration * 3]


def test_sigkill_spread_across_a_whole_generation(tmp_path: Path, states: dict[str, dict[str, bytes]]) -> None:
    with ThreadPoolExecutor(PARALLEL) as pool:  # the duration under the same load as the killed runs
        durations = list(pool.map(lambda i: run_killed(tmp_path / f"measure{i}", False, None), range(PARALLEL)))
    duration = sorted(durations)[len(durations) // 2]
    moments = kill_moments(duration, KILL_RUNS)

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


def die_at_call(k: int, action: Callable[[], object], functions: tuple[str, ...] = ("replace",)) -> None:
    """In a forked child: run `action`, SIGKILLing this process right before its k-th call of the `os` functions
    named (renames by default), or after the end (before any clean-up, as a late kill would)."""
    try:
        calls = 0

        def dying(real: Callable[..., object]) -> Callable[..., object]:
            def call(*args: object, **kwargs: object) -> object:
                nonlocal calls
                if calls == k:
                    os.kill(os.getpid(), signal.SIGKILL)
                calls += 1
                return real(*args, **kwargs)

            return call

        for name in functions:
            setattr(os, name, dying(getattr(os, name)))
        action()
        os.kill(os.getpid(), signal.SIGKILL)
    finally:
        os._exit(1)


def place_locked(rendered: Path, target: Path, workdir: Path) -> None:
    """A generation's placement: its work folder locked, each step journaled."""
    lock(workdir)
    with open_journal(workdir, target) as log:
        place(rendered, target, workdir / "replaced", log)


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
            die_at_call(k, functools.partial(place_locked, rendered, target, workdir))
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == signal.SIGKILL
        outcomes.append(check_after_recovery(root, states, True))
    note(test="sigkill_placement", kills=len(moments), renames=steps, before=outcomes.count("before"))
    assert outcomes[:-1] == ["before"] * (len(moments) - 1)  # every kill before the last rename: as before
    assert outcomes[-1] == "complete"


def test_sigkill_while_removing_the_work_folder(tmp_path: Path, states: dict[str, dict[str, bytes]]) -> None:
    """A --force run killed after placing, while it removes its work folder (which holds the replaced originals
    and the journal): the next run still finds a folder it can judge, and removes it."""
    rendered, target = stage(tmp_path / "count", states)
    workdir = rendered.parent.parent
    with open_journal(workdir, target) as log:
        place(rendered, target, workdir / "replaced", log)
    deletions = sum(1 for _ in workdir.rglob("*")) + 1
    assert deletions > 5
    for k in range(deletions + 1):
        root = tmp_path / f"k{k}"
        rendered, target = stage(root, states)
        workdir = rendered.parent.parent
        with open_journal(workdir, target) as log:
            place(rendered, target, workdir / "replaced", log)
        pid = os.fork()
        if pid == 0:
            die_at_call(k, functools.partial(remove_workdir, workdir), ("unlink", "rmdir"))
        _, status = os.waitpid(pid, 0)
        assert os.WTERMSIG(status) == signal.SIGKILL
        assert check_after_recovery(root, states, True) == "complete"


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
    """Rendering fails after half the files are written (at the runner's wheel): the target is as it was."""

    def broken(project: Path) -> None:
        (project / ".slsgen" / "wheels").mkdir(parents=True)
        (project / ".slsgen" / "wheels" / "half.whl").write_bytes(b"PK half")
        raise RenderError("the disk is full (simulated)")

    monkeypatch.setattr(render, "add_runner_wheel", broken)
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


def test_unjournaled_originals_are_left_alone(tmp_path: Path) -> None:
    """Originals without a journal (no step recorded, so no way to tell what they were) are never deleted."""
    unjournaled = tmp_path / f".{NAME}.slsgen-xyz"
    (unjournaled / "replaced").mkdir(parents=True)
    (unjournaled / "replaced" / "Makefile").write_text("original")
    recover(tmp_path, NAME, tmp_path / NAME)
    assert leftovers(tmp_path) == [unjournaled.name]


# `slsgen update`: the same guarantees. The project is generated with the defaults and edited by its user (a
# note in the handler, a file of theirs); the update changes two answers, so the merge rewrites the handler
# (keeping the note), the template, README, tests and events, removes an event file the blueprint drops, and
# installs new records. A killed update must leave the project as before or exactly as an update run to its end.
UPDATE_CHANGES = {"greeting": "Hey", "trigger": "function-url"}
UPDATE_ARGS = [arg for key, value in UPDATE_CHANGES.items() for arg in ("--set", f"{key}={value}")]
HANDLER = "src/lambda_function.py"


def updatable(folder: Path) -> Path:
    """A project generated with the defaults, then edited by its user, in `folder`."""
    project = generate_project("hello-world", NAME, output_dir=folder).path
    (project / HANDLER).write_text("# the team's note\n" + (project / HANDLER).read_text())
    (project / "NOTES.md").write_text("the user's own file\n")
    return project


@pytest.fixture(scope="module")
def update_states(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The project before the update, and after an update that ran to its end."""
    root = tmp_path_factory.mktemp("update-states")
    before = updatable(root / "before")
    after = root / "after" / NAME
    shutil.copytree(before, after, symlinks=True)
    plan = update_project(after, changes=UPDATE_CHANGES)
    assert plan.removed
    assert plan.writes
    assert not plan.conflicts
    assert "# the team's note" in (after / HANDLER).read_text()
    return {"before": snapshot(before), "after": snapshot(after), "path": before}


def check_update_after_recovery(parent: Path, states: dict[str, Any]) -> str:
    """Run what the next run runs first; return "before" or "complete" (anything else fails)."""
    target = parent / NAME
    wait_until_unlocked(parent)
    recover(parent, NAME, target)
    assert leftovers(parent) == [], inventory(parent)
    now = snapshot(target)
    if now == states["before"]:
        return "before"
    assert now == states["after"], f"half-updated project: {sorted(set(now) ^ set(states['after']))[:10]}"
    return "complete"


def run_killed_update(parent: Path, after: float | None) -> float:
    """Run `slsgen update` on `parent/NAME`, SIGKILLed `after` seconds (None: let it finish); return its time."""
    return run_or_kill(
        [sys.executable, "-m", "generator", "update", str(parent / NAME), "--no-input", *UPDATE_ARGS], after
    )


def test_sigkill_spread_across_a_whole_update(tmp_path: Path, update_states: dict[str, Any]) -> None:
    """`slsgen update` (a real process) killed at moments spread from 2 % to 110 % of a measured update."""

    def copy(i: int) -> Path:
        parent = tmp_path / f"run{i}"
        shutil.copytree(update_states["path"], parent / NAME, symlinks=True)
        return parent

    with ThreadPoolExecutor(PARALLEL) as pool:  # the duration under the same load as the killed runs
        durations = list(pool.map(lambda i: run_killed_update(copy(-1 - i), None), range(PARALLEL)))
    for i in range(PARALLEL):
        assert check_update_after_recovery(tmp_path / f"run{-1 - i}", update_states) == "complete"
    duration = sorted(durations)[len(durations) // 2]
    moments = kill_moments(duration, UPDATE_KILL_RUNS)

    def one(i: int) -> str:
        parent = copy(i)
        run_killed_update(parent, moments[i])
        return check_update_after_recovery(parent, update_states)

    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = list(pool.map(one, range(UPDATE_KILL_RUNS)))
    note(
        test="sigkill_update",
        kills=UPDATE_KILL_RUNS,
        duration_s=round(duration, 2),
        before=outcomes.count("before"),
        complete=outcomes.count("complete"),
    )
    assert "before" in outcomes
    assert "complete" in outcomes
    # The next real update after a kill that left the project as before completes it, and leaves no work folder.
    parent = tmp_path / f"run{outcomes.index('before')}"
    run_killed_update(parent, None)
    assert check_update_after_recovery(parent, update_states) == "complete"


def renames_of(action: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> int:
    count = 0
    real = os.replace

    def counting(*args: object, **kwargs: object) -> None:
        nonlocal count
        count += 1
        real(*args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", counting)
        action()
    return count


def killed_at_each_rename(
    root: Path, prepare: Callable[[Path], Path], action: Callable[[Path], object], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[dict[str, bytes]]]:
    """Kill `action(project)` before each of its renames (on a fresh `prepare`d project each time).

    Returns the number of renames, and for each kill the project's files after the next run's recovery.
    """
    steps = renames_of(lambda: action(prepare(root / "count")), monkeypatch)
    states = []
    moments = list(range(steps + 1))  # every rename, and after the last (killed before cleaning up)
    for k in moments:
        project = prepare(root / f"k{k}")
        pid = os.fork()
        if pid == 0:
            die_at_call(k, functools.partial(action, project))
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == signal.SIGKILL
        recover(project.parent, project.name, project)
        assert leftovers(project.parent) == []
        states.append(snapshot(project))
    return steps, states


def test_sigkill_at_every_rename_of_an_update(
    tmp_path: Path, update_states: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update killed right before each of its renames: as before, up to the last one; then complete."""

    def prepare(folder: Path) -> Path:
        shutil.copytree(update_states["path"], folder / NAME, symlinks=True)
        return folder / NAME

    steps, states = killed_at_each_rename(
        tmp_path, prepare, lambda project: update_project(project, changes=UPDATE_CHANGES), monkeypatch
    )
    assert steps > 10
    outcomes = ["before" if state == update_states["before"] else "complete" for state in states]
    for state, outcome in zip(states, outcomes, strict=True):
        assert outcome == "before" or state == update_states["after"]
    note(test="sigkill_update_renames", kills=len(states), renames=steps, before=outcomes.count("before"))
    assert outcomes == ["before"] * steps + ["complete"]


def resolve_keeping_ours(text: str) -> str:
    """Resolve every conflict as a user keeping their side: the lines between `<<<<<<<` and the next marker."""
    kept, side = [], "both"
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<<"):
            side = "ours"
        elif line.startswith(("|||||||", "=======")) and side != "both":
            side = "theirs"
        elif line.startswith(">>>>>>>") and side != "both":
            side = "both"
        elif side != "theirs":
            kept.append(line)
    return "".join(kept)


def test_sigkill_at_every_rename_of_update_continue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`update --continue` installs the records and drops the pending ones in one transaction, killed anywhere."""
    root = tmp_path / "conflicted"
    project = generate_project("hello-world", NAME, output_dir=root).path
    template = project / "template.yaml"
    template.write_text(template.read_text().replace('GREETING: "Hello"', 'GREETING: "Hello there"'))
    plan = update_project(project, changes={"greeting": "Hey"})
    assert plan.conflicts == ["template.yaml"]
    template.write_text(resolve_keeping_ours(template.read_text()))
    before = snapshot(project)
    done = tmp_path / "done"
    shutil.copytree(root, done, symlinks=True)
    continue_update(done / NAME)
    after = snapshot(done / NAME)
    assert ".slsgen/pending/" in before
    assert ".slsgen/pending/" not in after

    def prepare(folder: Path) -> Path:
        shutil.copytree(project, folder / NAME, symlinks=True)
        return folder / NAME

    steps, states = killed_at_each_rename(tmp_path, prepare, continue_update, monkeypatch)
    assert states == [before] * steps + [after]


# `slsgen package` / `make package`: dist/<project>.zip is replaced atomically. The project's code folder holds
# 24 MB that does not compress, so that writing the zip is most of a run and many kills land inside it.
PACKAGE_KILL_RUNS = max(20, KILL_RUNS * 2 // 5)
PACKAGE_TEMPLATE = f"""\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python{sys.version_info.major}.{sys.version_info.minor}
"""


def package_command(project: Path, dist: Path) -> list[str]:
    return [sys.executable, "-m", "lambda_runner", "package", "-t", str(project / "template.yaml"), "-o", str(dist)]


def dist_files(dist: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(dist.iterdir())}


@pytest.fixture(scope="module")
def package_states(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project, the dist/ of its previous version (one more file), and the dist/ of the current one."""
    root = tmp_path_factory.mktemp("package")
    project = root / "orders"
    (project / "src").mkdir(parents=True)
    (project / "template.yaml").write_text(PACKAGE_TEMPLATE)
    (project / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    noise = random.Random(14)
    for number in range(24):
        (project / "src" / f"data{number:02}.bin").write_bytes(noise.randbytes(1024 * 1024))
    (project / "src" / "previous.py").write_text("OLD = True\n")
    subprocess.run(package_command(project, root / "previous"), check=True, capture_output=True)
    (project / "src" / "previous.py").unlink()
    subprocess.run(package_command(project, root / "reference"), check=True, capture_output=True)
    previous, reference = dist_files(root / "previous"), dist_files(root / "reference")
    assert sorted(previous) == sorted(reference) == ["orders.zip", "template.yaml"]
    assert previous["orders.zip"] != reference["orders.zip"]
    return {"project": project, "previous": previous, "reference": reference, "previous_dir": root / "previous"}


def test_sigkill_spread_across_a_package_run(tmp_path: Path, package_states: dict[str, Any]) -> None:
    """`package` killed at moments spread over a measured run: dist/ holds the previous zip or the new one."""
    project = package_states["project"]

    def run(dist: Path, after: float | None) -> tuple[float, bool]:
        """One run into a copy of the previous dist/; its duration, and whether it left a temporary file."""
        shutil.copytree(package_states["previous_dir"], dist)
        duration = run_or_kill(package_command(project, dist), after)
        names = {path.name for path in dist.iterdir()}
        temporary = bool(names - {"orders.zip", "template.yaml"})
        assert names - {"orders.zip", "template.yaml"} <= {name for name in names if name.endswith(".partial")}
        now = {name: (dist / name).read_bytes() for name in ("orders.zip", "template.yaml")}
        for name, content in now.items():  # each file: the previous one or the complete new one
            assert content in (package_states["previous"][name], package_states["reference"][name]), name
        remove_stale(dist / "orders.zip")  # what the next run does first
        remove_stale(dist / "template.yaml")
        assert sorted(path.name for path in dist.iterdir()) == ["orders.zip", "template.yaml"]
        return duration, temporary

    with ThreadPoolExecutor(PARALLEL) as pool:
        measured = list(pool.map(lambda i: run(tmp_path / f"measure{i}" / "dist", None), range(PARALLEL)))
    duration = sorted(time for time, _ in measured)[len(measured) // 2]
    moments = kill_moments(duration, PACKAGE_KILL_RUNS)

    def one(i: int) -> tuple[str, bool]:
        dist = tmp_path / f"run{i}" / "dist"
        _, temporary = run(dist, moments[i])
        zipped = (dist / "orders.zip").read_bytes()
        outcome = "before" if zipped == package_states["previous"]["orders.zip"] else "complete"
        if outcome == "before":  # the next real run completes, from whatever the killed one left
            subprocess.run(package_command(project, dist), check=True, capture_output=True)
            assert dist_files(dist) == package_states["reference"]
        shutil.rmtree(dist.parent)  # 24 MB a zip
        return outcome, temporary

    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = list(pool.map(one, range(PACKAGE_KILL_RUNS)))
    left = sum(temporary for _, temporary in outcomes)
    kinds = [outcome for outcome, _ in outcomes]
    note(
        test="sigkill_package",
        kills=PACKAGE_KILL_RUNS,
        duration_s=round(duration, 2),
        before=kinds.count("before"),
        complete=kinds.count("complete"),
        killed_while_writing=left,
    )
    assert "before" in kinds
    assert "complete" in kinds
    assert left >= 2  # some kills landed while the zip was being written


def test_a_zip_over_the_limit_or_a_failed_write_keeps_the_previous_one(
    tmp_path: Path, package_states: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(package_states["previous_dir"], dist)
    files = collect_files(package_states["project"] / "src", None)
    monkeypatch.setattr(package_module, "ZIPPED_LIMIT", 1024 * 1024)
    with pytest.raises(RunnerError, match="Lambda accepts 50 MB"):
        write_zip(files, dist / "orders.zip", io.StringIO())
    assert dist_files(dist) == package_states["previous"]  # no temporary file either
    monkeypatch.undo()
    files["broken.py"] = tmp_path / "missing.py"  # the disk fails midway
    with pytest.raises(FileNotFoundError):
        write_zip(files, dist / "orders.zip", io.StringIO())
    assert dist_files(dist) == package_states["previous"]


def test_a_temporary_file_being_written_is_left_to_its_run(tmp_path: Path) -> None:
    destination = tmp_path / "orders.zip"
    with replacing(destination) as stream:
        stream.write(b"new")
        stale = tmp_path / ".orders.zip.killed.partial"  # a killed run's: nobody holds it
        stale.write_bytes(b"half")
        remove_stale(destination)
        assert not stale.exists()
        assert len(list(tmp_path.glob("*.partial"))) == 1  # this run's own, still being written
    assert destination.read_bytes() == b"new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["orders.zip"]
