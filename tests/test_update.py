"""`slsgen update`: a blueprint's new version merged into a project generated earlier, the user's edits kept.

Every test simulates an slsgen upgrade: the project is generated from a copy of slsgen's data (blueprints,
skeleton, the runner's wheel), then that copy is changed in place and its version bumped, so the version the project
recorded no longer exists anywhere and the merge base can only come from the project's own snapshot.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lambda_runner import __version__ as RUNNER_VERSION

from generator import paths, snapshot
from generator.cli import main
from generator.errors import NotAProject
from generator.merge import diff3, has_markers, merge
from generator.project import generate_project
from generator.update import UpdateRefused, continue_update, update_project

ROOT = Path(__file__).resolve().parent.parent
HANDLER = "src/lambda_function.py"
BP = "hello-world"


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A private copy of slsgen's blueprints, skeleton and runner wheel, which the tests then "upgrade"."""
    copy = tmp_path / "slsgen-data"
    shutil.copytree(ROOT / "blueprints", copy / "blueprints")
    shutil.copytree(ROOT / "templates", copy / "templates")
    shutil.copytree(ROOT / "wheels", copy / "wheels")
    monkeypatch.setattr(paths, "builtin_blueprints_dir", lambda: copy / "blueprints")
    monkeypatch.setattr(paths, "skeleton_dir", lambda: copy / "templates")
    monkeypatch.setattr(paths, "runner_wheel", lambda: next((copy / "wheels").glob("*.whl")))
    return copy


def git(project: Path, *args: str) -> str:
    command = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev", *args]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def project(data, tmp_path):
    """hello-world generated with the data as it was, committed to git as a team would."""
    path = generate_project(BP, "svc", output_dir=tmp_path / "work").path
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "generated")
    return path


def edit(path: Path, old: str, new: str) -> None:
    """Replace every `old` in the file (a blueprint template has one per trigger)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def upgrade(data: Path, version: str = "1.1.0") -> Path:
    """Bump the copied built-in's version (the old one is then gone); return its folder to change files in."""
    folder = data / "blueprints" / BP
    edit(folder / "blueprint.yaml", "version: 1.0.0", f"version: {version}")
    return folder


def add_make_target(data: Path) -> None:
    """The skeleton's Makefile (hello-world's extends it) gains a target."""
    makefile = data / "templates" / "Makefile"
    makefile.write_text(makefile.read_text() + "\nfresh: ## Added upstream\n\t@true\n")


def commit(project: Path) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", "edit")


def record(project: Path) -> dict:
    return json.loads((project / ".slsgen.json").read_text())


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["slsgen", *args])
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_a_project_keeps_its_generated_files_as_the_merge_base(project):
    base = snapshot.read(project)
    assert base is not None
    assert base[HANDLER].data == (project / HANDLER).read_bytes()
    assert not [path for path in base if path.startswith(("lambda_runner/", ".slsgen/"))]  # no runner, no wheel
    assert ".slsgen.json" not in base
    assert set(base) == {path for path in record(project)["files"] if not path.startswith(".slsgen/")}


def test_clean_merge_keeps_the_users_edits_and_takes_the_blueprints(data, project, monkeypatch, capsys):
    edit(project / HANDLER, "def greet(name: str) -> str:", "# our team's note\ndef greet(name: str) -> str:")
    (project / "README.md").write_text((project / "README.md").read_text() + "\nOwned by the payments team.\n")
    commit(project)
    folder = upgrade(data)
    add_make_target(data)
    edit(
        folder / "src/{{cookiecutter.handler_module}}.py",
        'return f"{GREETING}, {name}!"',
        'return f"{GREETING}, {name}!!"',
    )

    code, out, err = run_cli(monkeypatch, capsys, "update", str(project))

    assert (code, err) == (0, "")
    assert "hello-world 1.0.0 -> 1.1.0" in out
    handler = (project / HANDLER).read_text()
    assert "# our team's note" in handler
    assert '{name}!!"' in handler
    assert not has_markers(handler.encode())
    assert "Owned by the payments team." in (project / "README.md").read_text()
    assert "fresh: ## Added upstream" in (project / "Makefile").read_text()
    assert record(project)["blueprint"]["version"] == "1.1.0"
    assert snapshot.read(project)[HANDLER].data.decode().count("# our team's note") == 0  # the base stays pristine
    assert not (project / ".slsgen" / "pending").exists()
    commit(project)
    assert run_cli(monkeypatch, capsys, "update", str(project), "--check")[0] == 0


def test_a_conflict_is_left_between_markers_listed_and_exit_1_until_continued(data, project, monkeypatch, capsys):
    edit(project / HANDLER, 'return f"{GREETING}, {name}!"', 'return f"{GREETING}, dear {name}!"')
    commit(project)
    edit(
        upgrade(data) / "src/{{cookiecutter.handler_module}}.py",
        'return f"{GREETING}, {name}!"',
        'return f"{GREETING}, {name}."',
    )
    before = (project / ".slsgen.json").read_bytes()

    code, out, _ = run_cli(monkeypatch, capsys, "update", str(project))

    assert code == 1
    assert f"conflict {HANDLER}" in out
    handler = (project / HANDLER).read_text()
    ours, theirs = '    return f"{GREETING}, dear {name}!"\n', '    return f"{GREETING}, {name}."\n'
    assert f"<<<<<<< yours\n{ours}=======\n{theirs}>>>>>>> hello-world 1.1.0\n" in handler
    assert (project / ".slsgen.json").read_bytes() == before  # recorded only on success
    with pytest.raises(UpdateRefused, match="conflict markers remain"):
        continue_update(project)
    with pytest.raises(UpdateRefused, match="--continue"):
        update_project(project, force=True)
    edit(
        project / HANDLER,
        handler[handler.index("<<<<<<<") : handler.index(">>>>>>> hello-world 1.1.0\n") + 26],
        '    return f"{GREETING}, dear {name}."\n',
    )
    code, out, _ = run_cli(monkeypatch, capsys, "update", str(project), "--continue")
    assert code == 0, out
    assert record(project)["blueprint"]["version"] == "1.1.0"
    assert not (project / ".slsgen" / "pending").exists()
    assert 'dear {name}."' in (project / HANDLER).read_text()


def test_deleted_and_dropped_files(data, project):
    (project / "tests/test_lambda_function.py").unlink()
    edit(
        project / "events/bad-query.json",
        "{",
        "{\n",
    )  # the user changed a file the blueprint will drop
    commit(project)
    folder = upgrade(data)
    edit(folder / "tests/test_{{cookiecutter.handler_module}}.py", "from __future__", "# upstream\nfrom __future__")
    manifest = (folder / "blueprint.yaml").read_text()
    for name in ("hello-no-name", "bad-query"):  # the http-api events of each
        block = f"  - file: events/{name}.json\n    when: trigger == 'http-api'\n"
        start = manifest.index(block)
        manifest = manifest[:start] + manifest[manifest.index("  - file:", start + len(block)) :]
    (folder / "blueprint.yaml").write_text(manifest)

    plan = update_project(project)

    assert not (project / "tests/test_lambda_function.py").exists()  # deleted by the user: stays deleted
    assert plan.kept_deleted == ["tests/test_lambda_function.py"]
    assert not (project / "events/hello-no-name.json").exists()  # dropped upstream, unchanged: removed
    assert plan.removed == ["events/hello-no-name.json"]
    assert (project / "events/bad-query.json").exists()  # dropped upstream, changed by the user: kept, listed
    assert plan.kept_changed == ["events/bad-query.json"]
    assert "events/bad-query.json" not in record(project)["files"]


def test_a_new_question_takes_its_default_or_the_set_value(data, project, monkeypatch, capsys):
    folder = upgrade(data)
    edit(
        folder / "blueprint.yaml",
        "questions:\n",
        "questions:\n  - {name: team, type: str, default: platform, help: Owning team}\n",
    )
    (folder / "OWNERS").write_text("{{ cookiecutter.team }}\n")

    code, out, _ = run_cli(monkeypatch, capsys, "update", str(project), "--dry-run")
    assert code == 0
    assert "new question team = 'platform'" in out
    assert "--- /dev/null\n+++ b/OWNERS\n@@ -0,0 +1 @@\n+platform\n" in out

    code, out, _ = run_cli(monkeypatch, capsys, "update", str(project), "--set", "team=payments")
    assert code == 0, out
    assert (project / "OWNERS").read_text() == "payments\n"
    assert record(project)["answers"]["team"] == "payments"


def test_check_and_dry_run_write_nothing(data, project, monkeypatch, capsys):
    assert run_cli(monkeypatch, capsys, "update", str(project), "--check")[:2] == (
        0,
        "svc is up to date with hello-world 1.0.0\n",
    )
    upgrade(data)
    add_make_target(data)
    code, out, _ = run_cli(monkeypatch, capsys, "update", str(project), "--check")
    assert code == 1
    assert "update available: hello-world 1.0.0 -> 1.1.0" in out
    code, out, _ = run_cli(monkeypatch, capsys, "update", str(project), "--dry-run")
    assert code == 0
    assert "--- a/Makefile\n+++ b/Makefile\n" in out
    assert "+fresh: ## Added upstream" in out
    assert git(project, "status", "--porcelain") == ""
    assert "fresh" not in (project / "Makefile").read_text()


def test_a_dirty_work_tree_is_refused_unless_forced(data, project, monkeypatch, capsys):
    (project / "notes.txt").write_text("wip\n")
    upgrade(data)
    add_make_target(data)
    code, _, err = run_cli(monkeypatch, capsys, "update", str(project))
    assert code == 2
    assert (
        err
        == f"error: {project} has uncommitted changes (notes.txt ...): commit or stash them first, or pass --force\n"
    )
    assert "fresh" not in (project / "Makefile").read_text()
    assert run_cli(monkeypatch, capsys, "update", str(project), "--force")[0] == 0
    assert "fresh" in (project / "Makefile").read_text()


def test_a_new_runner_is_a_version_bump_of_the_pin_and_the_wheel(data, project, monkeypatch, capsys):
    (old,) = (data / "wheels").glob("*.whl")
    major, minor, patch = RUNNER_VERSION.split(".")
    bumped = f"{major}.{minor}.{int(patch) + 1}"
    new = old.with_name(old.name.replace(f"-{RUNNER_VERSION}-", f"-{bumped}-"))
    new.write_bytes(old.read_bytes() + b"\0")  # another wheel: another hash
    old.unlink()
    edit(project / "pyproject.toml", "line-length = 120", "line-length = 120  # our note")  # a user's edit
    commit(project)
    code, out, _ = run_cli(monkeypatch, capsys, "update", str(project))
    assert code == 0, out
    assert not [line for line in out.splitlines() if line.startswith(("conflict", "kept"))]
    pyproject = (project / "pyproject.toml").read_text()
    assert f'"slsgen-runner=={bumped}",' in pyproject
    assert "# our note" in pyproject
    assert f'path = ".slsgen/wheels/{new.name}"' in pyproject
    wheels = sorted(path.name for path in (project / ".slsgen" / "wheels").iterdir())
    assert wheels == sorted([new.name, "requirements.txt"])  # the old wheel is gone
    assert (project / ".slsgen" / "wheels" / new.name).read_bytes() == new.read_bytes()
    pin = (project / ".slsgen" / "wheels" / "requirements.txt").read_text()
    assert f"slsgen-runner=={bumped} --hash=sha256:{hashlib.sha256(new.read_bytes()).hexdigest()}" in pin
    assert ".slsgen/wheels/" + new.name in record(project)["files"]


def test_a_project_without_snapshot_uses_a_proven_rerender_or_is_refused(data, project):
    (project / snapshot.SNAPSHOT).unlink()
    commit(project)
    assert not update_project(project).changes  # same version: re-rendered, digests match the record
    shutil.rmtree(project / ".slsgen", ignore_errors=True)
    upgrade(data)
    with pytest.raises(UpdateRefused, match="has no merge base"):
        update_project(project, force=True)


def test_outside_a_project(tmp_path, monkeypatch, capsys):
    with pytest.raises(NotAProject):
        update_project(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, "update", str(tmp_path))
    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1


CASES = [
    (b"a\nb\nc\n", b"a\nB\nc\n", b"a\nb\nC\n"),  # different lines: clean
    (b"a\nb\nc\n", b"a\nX\nc\n", b"a\nY\nc\n"),  # the same line: a conflict
    (b"", b"x\ny\n", b"x\nz\n"),  # added on both sides
    (b"a\nb\n", b"a\nb\nmine\n", b"theirs\na\nb\n"),  # both ends
    (b"a\nb\nc\n", b"a\nc\n", b"a\nb\nc\nd\n"),  # a deletion and an addition
    (b"a\nb", b"a\nB", b"a\nb\nc"),  # no final newline
]


@pytest.mark.parametrize(("base", "ours", "theirs"), CASES)
def test_the_fallback_merge_matches_git_merge_file(base, ours, theirs):
    labels = ("yours", "base", "new")
    assert diff3(base, ours, theirs, labels) == merge(base, ours, theirs, labels)


def test_a_team_blueprint_folder_updates_its_projects_through_the_command_line(tmp_path):
    from generator.authoring import init_blueprint

    from helpers import generate, run, slsgen

    team = init_blueprint("team-api", "hello-world", tmp_path)
    project = generate(tmp_path, str(team), "svc", "--set", "team=payments")  # a git repository, by default
    (project / "README.md").write_text((project / "README.md").read_text() + "\nOn call: #payments-oncall\n")
    run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "on call"], project)
    edit(team / "blueprint.yaml", "version: 0.1.0", "version: 0.2.0")
    edit(team / "README.md", "Owned by the", "Owned and run by the")

    result = slsgen("update", str(project), cwd=tmp_path)

    assert "svc: team-api 0.1.0 -> 0.2.0\nupdate README.md\n" in result.stdout
    readme = (project / "README.md").read_text()
    assert "Owned and run by the payments team" in readme
    assert readme.endswith("On call: #payments-oncall\n")
    run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "update"], project)
    shutil.rmtree(team)
    result = slsgen("update", str(project), cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert (
        result.stderr == f"error: the project's blueprint folder {team} no longer exists: restore it, or fix "
        "blueprint.source in .slsgen.json\n"
    )


def test_a_recorded_answer_the_new_version_refuses_asks_for_set(data, project, monkeypatch, capsys):
    edit(upgrade(data) / "blueprint.yaml", "choices: [http-api, function-url, none]", "choices: [function-url, none]")
    edit(data / "blueprints" / BP / "blueprint.yaml", "default: http-api", "default: function-url")
    code, _, err = run_cli(monkeypatch, capsys, "update", str(project))
    assert code == 2
    assert err == (
        "error: trigger must be one of function-url, none, not 'http-api'; give a new answer with --set trigger=...\n"
    )
    assert record(project)["blueprint"]["version"] == "1.0.0"
