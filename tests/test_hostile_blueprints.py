"""A hostile blueprint author, a hostile record in a cloned project and a hostile config against slsgen's promises.

Each class of attack (SECURITY.md's threat model lists them) goes through every entry point that renders or
fetches: `slsgen new`, `slsgen update`, `update --check`, `blueprint lint` and plain cookiecutter templates. The
promises: nothing is written outside the project, no code of an untrusted source runs without `--trust`, and no
user work (files, a git repository) is lost; bad input is one line, exit code 2. Every HOME is a throw-away one,
whose `.bashrc` stands for any file of the user's that a blueprint must never reach.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest

from generator import new_project, render
from generator.authoring import lint_blueprint
from generator.confine import confined
from generator.errors import BlueprintNotFound, TargetExists, UnsafePath, Untrusted
from generator.placement import lock, locked
from generator.project import generate_project
from generator.sources import CACHE_COMMITS, fetch
from generator.trust import canonical, is_trusted
from generator.update import update_project

from helpers import SLSGEN, git, run

MANIFEST = "name: {name}\ntitle: T\ndescription: d\nversion: {version}\nextends: {extends}\n"
BASHRC = "# the user's own shell setup\n"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A throw-away HOME with a `.bashrc` to protect, and slsgen's config and cache inside it."""
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / ".bashrc").write_text(BASHRC)
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.setenv("SLSGEN_CONFIG", str(folder / "config.toml"))
    monkeypatch.setenv("SLSGEN_CACHE", str(folder / "cache"))
    monkeypatch.delenv("SLSGEN_BLUEPRINTS", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    return folder


def untouched(home: Path) -> None:
    assert (home / ".bashrc").read_text() == BASHRC


def blueprint_folder(
    folder: Path, files: dict[str, str], *, version: str = "1.0.0", extends: str = "hello-world", extra: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = MANIFEST.format(name="evil", version=version, extends=extends) + textwrap.dedent(extra)
    (folder / "blueprint.yaml").write_text(manifest)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def repository(folder: Path) -> str:
    """Make `folder` a git repository with one commit; return its `git+file://` URL."""
    git("init", "-q", "-b", "main", cwd=folder)
    commit(folder)
    return f"git+file://{folder}"


def commit(folder: Path) -> str:
    git("add", "-A", cwd=folder)
    git("commit", "-q", "--allow-empty", "-m", "change", cwd=folder)
    return git("rev-parse", "HEAD", cwd=folder)


def slsgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([*SLSGEN, *args], cwd, check=False)


def one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 2, one `error:` line holding each fragment, no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- 1. Templates cannot change the context later templates and names see ---------------------------------------

MUTATIONS = [
    '{{ cookiecutter.update({"notes": "HOME/.bashrc"}) or "" }}',
    '{{ cookiecutter.setdefault("x", 1) }}{{ cookiecutter.__setitem__("notes", "HOME/.bashrc") }}',
    '{% set _ = cookiecutter.pop("notes") %}',
    '{{ cookiecutter.env.update({"A": "b"}) }}',
]


def mutating_blueprint(folder: Path, home: Path, mutation: str) -> Path:
    return blueprint_folder(
        folder,
        {"AAA.md": mutation.replace("HOME", str(home)) + "x\n", "{{cookiecutter.notes}}": "pwned\n"},
        extra="questions:\n  - {name: notes, type: str, default: NOTES.md}\n",
    )


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_git_blueprint_cannot_change_the_context_on_new(tmp_path, home, mutation):
    url = repository(mutating_blueprint(tmp_path / "bp", home, mutation))
    one_line(slsgen("new", url, "p1", "--no-input", "--no-git", cwd=tmp_path), "unsafe", "nothing was written")
    untouched(home)
    assert not (tmp_path / "p1").exists()


def test_update_check_of_a_blueprint_that_turned_hostile_writes_nothing(tmp_path, home):
    folder = blueprint_folder(tmp_path / "bp", {"NOTES.md": "notes\n"})
    url = repository(folder)
    project = generate_project(url, "p1", output_dir=tmp_path).path
    before = files_of(project)
    mutating_blueprint(folder, home, MUTATIONS[0])
    (folder / "blueprint.yaml").write_text((folder / "blueprint.yaml").read_text().replace("1.0.0", "2.0.0"))
    commit(folder)
    for flags in (["--check"], ["--dry-run"], []):
        one_line(slsgen("update", str(project), *flags, "--force", cwd=tmp_path), "unsafe")
        untouched(home)
        assert files_of(project) == before


def test_a_plain_cookiecutter_template_cannot_change_the_context(tmp_path, home):
    template = tmp_path / "tpl"
    (template / "{{cookiecutter.project_name}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"project_name": "app", "notes": "NOTES.md"}))
    inner = template / "{{cookiecutter.project_name}}"
    (inner / "AAA.md").write_text(MUTATIONS[0].replace("HOME", str(home)))
    (inner / "{{cookiecutter.notes}}").write_text("pwned\n")
    one_line(slsgen("new", str(template), "--no-input", "--no-git", cwd=tmp_path), "unsafe")
    untouched(home)


def test_blueprint_lint_renders_in_the_same_sandbox(tmp_path, home):
    result = lint_blueprint(mutating_blueprint(tmp_path / "bp", home, MUTATIONS[0]))
    assert any("unsafe" in problem for problem in result.problems), result.problems
    untouched(home)


def test_writes_are_checked_when_they_happen_not_only_before(tmp_path, home, monkeypatch):
    """Whatever name a render produces that the checks before it did not foresee (here: those checks switched
    off), the write itself is refused: every path is checked at the moment it is written."""
    from generator import trust

    monkeypatch.setattr(trust, "check_template_paths", lambda *args: None)
    folder = blueprint_folder(
        tmp_path / "bp",
        {"{{cookiecutter.notes}}": "pwned\n"},
        extra="questions:\n  - {name: notes, type: str, default: NOTES.md}\n",
    )
    with pytest.raises(UnsafePath, match=r"would write .*\.bashrc, outside the project"):
        new_project(str(folder), "p1", output_dir=tmp_path / "out", options={"notes": str(home / ".bashrc")})
    untouched(home)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "write",
    [
        lambda outside: outside.write_text("x"),
        lambda outside: outside.mkdir(),
        lambda outside: os.symlink("/etc", outside),
        lambda outside: os.replace(outside.parent / "inside" / "f", outside),
        lambda outside: __import__("shutil").copyfile(outside.parent / "inside" / "f", outside),
    ],
)
def test_the_confinement_refuses_every_kind_of_write_outside_its_folder(tmp_path, write):
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "f").write_text("mine")
    (inside / "ok.txt").write_text("fine")
    with confined(inside, "evil"):
        (inside / "ok.txt").write_text("still fine")  # inside: allowed
    with pytest.raises(UnsafePath, match=r"would write .*escaped"), confined(inside, "evil"):
        write(tmp_path / "escaped")
    assert not os.path.lexists(tmp_path / "escaped")
    assert (inside / "f").read_text() == "mine"
    (tmp_path / "after").write_text("outside the block: allowed")


def test_the_confinement_holds_for_its_own_thread_only(tmp_path):
    inside = tmp_path / "inside"
    inside.mkdir()
    done = threading.Event()

    def other() -> None:
        (tmp_path / "other-thread").write_text("not confined")
        done.set()

    with confined(inside, "evil"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert done.is_set()


def test_a_link_through_which_a_write_would_leave_is_refused(tmp_path):
    inside = tmp_path / "inside"
    inside.mkdir()
    (tmp_path / "target").mkdir()
    os.symlink(tmp_path / "target", inside / "link")
    with pytest.raises(UnsafePath), confined(inside, "evil"):
        (inside / "link" / "x").write_text("through the link")
    assert not (tmp_path / "target" / "x").exists()


# --- 2. Custom delimiters ------------------------------------------------------------------------------------------


def delimited_template(folder: Path, target: str) -> Path:
    (folder / "[[cookiecutter.project_name]]").mkdir(parents=True)
    context = {
        "project_name": "demo",
        "target": target,
        "_jinja2_env_vars": {"variable_start_string": "[[", "variable_end_string": "]]"},
    }
    (folder / "cookiecutter.json").write_text(json.dumps(context))
    (folder / "[[cookiecutter.project_name]]" / "[[cookiecutter.target]]").write_text("pwned\n")
    return folder


def test_custom_delimiters_do_not_skip_the_path_check(tmp_path, home):
    template = delimited_template(tmp_path / "tpl", str(home / ".bashrc"))
    one_line(slsgen("new", str(template), "--no-input", "--no-git", cwd=tmp_path), "absolute path")
    untouched(home)


def test_custom_delimiters_are_checked_at_write_time_too(tmp_path, home, monkeypatch):
    from generator import trust
    from generator.cookietemplate import generate_template
    from generator.sources import resolve

    monkeypatch.setattr(trust, "check_template_paths", lambda *args: None)
    template = delimited_template(tmp_path / "tpl", str(home / ".bashrc"))
    with pytest.raises(UnsafePath, match="outside the project"):
        generate_template(
            resolve(str(template)),
            None,
            output_dir=tmp_path / "out",
            given={},
            configured={},
            no_input=True,
            force=False,
            trusted=False,
        )
    untouched(home)


def test_delimited_templates_still_render(tmp_path):
    template = delimited_template(tmp_path / "tpl", "NOTES.md")
    result = slsgen("new", str(template), "--no-input", "--no-git", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "demo" / "NOTES.md").read_text() == "pwned\n"


# --- 3. git option injection -----------------------------------------------------------------------------------------


INJECTION = "--upload-pack=touch {marker};git-upload-pack"


def test_a_ref_that_git_would_read_as_an_option_is_refused(tmp_path):
    url = repository(blueprint_folder(tmp_path / "bp", {}))
    marker = tmp_path / "ran"
    one_line(
        slsgen("new", url, "x", "--no-input", "--ref", INJECTION.format(marker=marker), cwd=tmp_path),
        "not a valid git tag, branch or commit name",
    )
    assert not marker.exists()


def test_an_extends_fragment_with_an_option_is_refused(tmp_path):
    marker = tmp_path / "ran"
    parent = repository(blueprint_folder(tmp_path / "parent", {}))
    child = blueprint_folder(tmp_path / "child", {}, extends=f"{parent}#ref={INJECTION.format(marker=marker)}")
    one_line(slsgen("new", str(child), "x", "--no-input", cwd=tmp_path), "not a valid git tag")
    assert not marker.exists()


@pytest.mark.parametrize(
    "url",
    ["git+ext::sh -c touch% {marker}", "git+fd::3", "git+-oProxyCommand=touch {marker}", "git+https://x/ y"],
)
def test_transports_and_urls_that_run_commands_are_refused(tmp_path, url):
    marker = tmp_path / "ran"
    one_line(slsgen("new", url.format(marker=marker), "x", "--no-input", cwd=tmp_path), "is not a git URL")
    assert not marker.exists()


def test_a_ref_in_a_cloned_projects_record_is_checked_before_update_fetches_it(tmp_path):
    url = repository(blueprint_folder(tmp_path / "bp", {}))
    project = generate_project(url, "p1", output_dir=tmp_path).path
    marker = tmp_path / "ran"
    edit_record(project, lambda record: record["blueprint"].update(ref=INJECTION.format(marker=marker)))
    one_line(slsgen("update", str(project), "--force", cwd=tmp_path), "ref '--upload-pack=")
    assert not marker.exists()


# --- 4. update applies new's trust rules ----------------------------------------------------------------------------

CHECK = "import pathlib\npathlib.Path('{marker}').write_text('ran')\n"


def checked_blueprint(folder: Path, marker: Path) -> Path:
    """A blueprint whose check, if it ever runs, writes `marker`."""
    return blueprint_folder(
        folder, {"scripts/check.py": CHECK.format(marker=marker)}, extra="checks:\n  - {run: scripts/check.py}\n"
    )


def test_update_refuses_checks_a_blueprint_added_later_unless_trusted(tmp_path):
    folder = blueprint_folder(tmp_path / "bp", {"NOTES.md": "v1\n"})
    url = repository(folder)
    project = generate_project(url, "p1", output_dir=tmp_path).path
    marker = tmp_path / "ran"
    blueprint_folder(
        folder,
        {"NOTES.md": "v2\n", "scripts/check.py": CHECK.format(marker=marker)},
        version="2.0.0",
        extra="checks:\n  - {run: scripts/check.py}\n",
    )
    commit(folder)
    for flags in (["--check"], ["--dry-run"], []):
        one_line(slsgen("update", str(project), "--force", *flags, cwd=tmp_path), "not trusted", "check script")
        assert not marker.exists()
    assert slsgen("update", str(project), "--force", "--check", "--trust", cwd=tmp_path).returncode == 1
    assert marker.exists()


def test_a_record_naming_a_folder_with_checks_is_held_to_the_trust_rules(tmp_path):
    project = generate_project("hello-world", "p1", output_dir=tmp_path).path
    marker = tmp_path / "ran"
    evil = checked_blueprint(tmp_path / "evil", marker)
    edit_record(project, lambda record: record["blueprint"].update(source=str(evil), name="evil"))
    one_line(slsgen("update", str(project), "--force", "--check", cwd=tmp_path), "not trusted")
    assert not marker.exists()


@pytest.mark.parametrize("source", ["builtin:../../evil", "../evil", "evil", "git+ext::sh -c id"])
def test_a_record_source_of_no_known_form_is_refused(tmp_path, source):
    """A relative folder would be read from wherever `slsgen update` runs: here one holding a blueprint."""
    project = generate_project("hello-world", "p1", output_dir=tmp_path / "work").path
    blueprint_folder(tmp_path / "evil", {"NOTES.md": "from the machine\n"}, version="9.0.0")
    (tmp_path / "work" / "evil").symlink_to(tmp_path / "evil")
    edit_record(project, lambda record: record["blueprint"].update(source=source))
    one_line(slsgen("update", str(project), "--force", "--check", cwd=tmp_path / "work"))


def test_the_merge_base_rerender_is_held_to_the_trust_rules_too(tmp_path):
    """No snapshot: the recorded version is rendered again as the merge base, and its checks need trust."""
    marker = tmp_path / "ran"
    folder = checked_blueprint(tmp_path / "bp", marker)
    url = repository(folder)
    project = generate_project(url, "p1", output_dir=tmp_path, trust=True).path
    marker.unlink()
    (project / ".slsgen" / "base.json.gz").unlink()
    one_line(slsgen("update", str(project), "--force", "--check", cwd=tmp_path), "not trusted")
    assert not marker.exists()


# --- 5. Version-control metadata is never blueprint content --------------------------------------------------------


def test_a_blueprint_that_is_a_repository_gives_its_history_remote_and_config_to_no_project(tmp_path):
    folder = blueprint_folder(tmp_path / "team-api", {"NOTES.md": "notes\n"})
    repository(folder)
    marker = tmp_path / "fsmonitor-ran"
    git("remote", "add", "origin", "https://user:s3cr3t-token@example.com/team/bp.git", cwd=folder)
    git("config", "core.fsmonitor", f"touch {marker}; false", cwd=folder)
    result = slsgen("new", str(folder), "p1", "--no-input", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "p1"
    assert not marker.exists()
    assert git("log", "--format=%s", cwd=project) == "Initial commit: generated by slsgen"
    assert git("remote", cwd=project) == ""
    every_byte = b"".join(path.read_bytes() for path in project.rglob("*") if path.is_file())
    every_byte += gzip.decompress((project / ".slsgen" / "base.json.gz").read_bytes())
    assert b"s3cr3t-token" not in every_byte
    assert ".git/" not in json.dumps(json.loads((project / ".slsgen.json").read_text())["files"])


def test_a_submodule_that_is_not_checked_out_is_refused_not_missing(tmp_path):
    folder = blueprint_folder(tmp_path / "bp", {".gitmodules": '[submodule "lib"]\n\tpath = vendor/lib\n\turl = x\n'})
    (folder / "vendor" / "lib").mkdir(parents=True)
    one_line(slsgen("new", str(folder), "p1", "--no-input", cwd=tmp_path), "submodule vendor/lib", "not checked out")


def test_a_checked_out_submodule_is_rendered(tmp_path):
    folder = blueprint_folder(
        tmp_path / "bp", {".gitmodules": '[submodule "lib"]\n\tpath = lib\n\turl = x\n', "lib/LIB.md": "lib\n"}
    )
    (folder / "lib" / ".git").write_text("gitdir: ../.git/modules/lib\n")
    project = new_project(str(folder), "p1", output_dir=tmp_path / "out")
    assert (project / "lib" / "LIB.md").read_text() == "lib\n"
    assert not (project / "lib" / ".git").exists()
    assert not (project / ".gitmodules").exists()


@pytest.mark.parametrize("name", [".git/config", ".hg/hgrc", "sub/.svn/entries", ".gitmodules"])
def test_a_cookiecutter_template_cannot_write_version_control_metadata(tmp_path, name):
    template = tmp_path / "tpl"
    inner = template / "{{cookiecutter.project_name}}"
    (inner / name).parent.mkdir(parents=True)
    (inner / name).write_text("[core]\nfsmonitor = touch /tmp/x\n")
    (template / "cookiecutter.json").write_text(json.dumps({"project_name": "app"}))
    one_line(slsgen("new", str(template), "--no-input", cwd=tmp_path), "version-control metadata")


# --- 6. Trust compares canonical sources ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "entry", "trusted"),
    [
        ("file:///srv/trusted/../evil", "file:///srv/trusted", False),
        ("file:///srv/trusted/team", "file:///srv/trusted", True),
        ("/srv/trusted-evil", "/srv/trusted", False),
        ("/srv/trusted/./team/../team", "/srv/trusted", True),
        ("git+https://github.com/acme/bp.git/../../evil/bp.git", "https://github.com/acme/bp", False),
        ("git+https://token@GitHub.com:443/acme/bp.git/", "https://github.com/acme/bp.git", True),
        ("https://github.com/acme/bp-evil.git", "https://github.com/acme/bp", False),
        ("https://github.com/acme/bp/sub", "https://github.com/acme/bp", False),
        ("git@github.com:acme/bp.git", "ssh://git@github.com/acme/bp", True),
        ("git@github.com:acme/bp.git", "https://github.com/acme/bp", False),
        ("https://github.com:8443/acme/bp", "https://github.com/acme/bp", False),
    ],
)
def test_trust_compares_canonical_sources(source, entry, trusted):
    assert is_trusted(source, [entry]) is trusted, (canonical(source), canonical(entry))


def test_a_path_climbing_out_of_a_trusted_folder_is_not_trusted(tmp_path, home):
    trusted_folder = tmp_path / "trusted"
    trusted_folder.mkdir()
    marker = tmp_path / "ran"
    evil = checked_blueprint(tmp_path / "evil", marker)
    url = repository(evil)
    (home / "config.toml").write_text(f'trusted = ["file://{trusted_folder}"]\n')
    climbing = url.replace(str(tmp_path), f"{trusted_folder}/..")
    one_line(slsgen("new", climbing, "x", "--no-input", cwd=tmp_path), "not trusted")
    assert not marker.exists()


# --- 7. A git blueprint's extends stays in its repository ----------------------------------------------------------


@pytest.mark.parametrize("extends", ["../../../../../../{outside}", "{outside}", "~/x"])
def test_a_git_blueprints_extends_cannot_leave_its_repository(tmp_path, extends):
    outside = blueprint_folder(tmp_path / "outside", {"SECRET.md": "from the machine\n"})
    repo = tmp_path / "repo"
    blueprint_folder(repo / "team", {}, extends=extends.format(outside=outside))
    url = repository(repo)
    one_line(slsgen("new", url, "x", "--no-input", "--directory", "team", cwd=tmp_path), "leaves its repository")


def test_a_git_blueprints_relative_extends_inside_its_repository_works_and_keeps_the_source(tmp_path):
    repo = tmp_path / "repo"
    blueprint_folder(repo / "base", {"BASE.md": "base\n"})
    blueprint_folder(repo / "team", {}, extends="../base")
    (repo / "team" / "blueprint.yaml").write_text(
        (repo / "team" / "blueprint.yaml").read_text().replace("evil", "team")
    )
    url = repository(repo)
    from generator import load_blueprint

    loaded = load_blueprint(url, directory="team")
    assert loaded.chain[-2:] == [loaded.source, loaded.source]  # the parent's source is the repository, not a folder
    project = new_project(loaded, "x", output_dir=tmp_path / "out")
    assert (project / "BASE.md").read_text() == "base\n"


# --- 8. update never writes under a version-control folder ---------------------------------------------------------


def test_update_of_a_project_whose_records_list_git_files_leaves_the_repository_intact(tmp_path):
    """A project made before slsgen left a blueprint's .git out has its .git files in its record and snapshot,
    as generated: to a merge they look like files the blueprint dropped and the user never changed. An update
    must neither remove them nor merge into them."""
    project = generate_project("hello-world", "p1", output_dir=tmp_path, git=True).path
    head = git("rev-parse", "HEAD", cwd=project)
    from generator import snapshot

    stored = snapshot.read(project)
    assert stored is not None
    names = (".git/HEAD", ".git/index", ".git/refs/heads/main", ".git/config")
    for name in names:
        stored[name] = snapshot.File((project / name).read_bytes())
    (project / ".slsgen" / "base.json.gz").write_bytes(snapshot.encode(stored))
    digests = {name: hashlib.sha256((project / name).read_bytes()).hexdigest() for name in names}
    edit_record(project, lambda record: record["files"].update(digests))
    update_project(project, changes={"greeting": "Hey"}, force=True)
    assert all((project / name).is_file() for name in names)
    assert git("rev-parse", "HEAD", cwd=project) == head
    assert "src/lambda_function.py" in git("status", "--porcelain", cwd=project)  # a repository that still works


def test_placement_refuses_a_path_under_an_existing_repository(tmp_path):
    from generator.placement import place

    target = tmp_path / "target"
    (target / ".git").mkdir(parents=True)
    (target / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    rendered = tmp_path / "rendered"
    (rendered / ".git").mkdir(parents=True)
    (rendered / ".git" / "HEAD").write_text("garbage\n")
    with pytest.raises(UnsafePath, match=r"\.git is not a path slsgen may write"):
        place(rendered, target, tmp_path / "backup")
    assert (target / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"


# --- 9. Recovery undoes only what it placed; --dry-run and --check change nothing ----------------------------------


def killed_update(tmp_path: Path) -> Path:
    """An update SIGKILLed after it placed some of its files (the journal of a real run, cut short)."""
    project = generate_project("hello-world", "p1", output_dir=tmp_path).path
    pid = os.fork()
    if pid == 0:
        try:
            from generator import placement

            calls = 0
            original = os.replace

            def dying(source, destination):  # the fourth file placed is journaled, never placed
                nonlocal calls
                if str(destination).startswith(str(project)):
                    calls += 1
                    if calls == 4:
                        os.kill(os.getpid(), signal.SIGKILL)
                return original(source, destination)

            placement.os.replace = dying  # type: ignore[attr-defined]
            update_project(project, changes={"greeting": "Hey", "trigger": "function-url"}, force=True)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    return project


def test_dry_run_and_check_change_nothing_while_a_recovery_is_pending(tmp_path):
    project = killed_update(tmp_path)
    workdirs = sorted(tmp_path.glob(".p1.slsgen-*"))
    assert workdirs
    before = files_of(project)
    for flags in (["--dry-run"], ["--check"]):
        one_line(slsgen("update", str(project), *flags, cwd=tmp_path), "was stopped while placing files")
    assert files_of(project) == before
    assert sorted(tmp_path.glob(".p1.slsgen-*")) == workdirs


def test_recovery_keeps_what_the_user_changed_or_added_since_the_crash(tmp_path):
    project = killed_update(tmp_path)
    journal = next(tmp_path.glob(".p1.slsgen-*")) / "journal"
    steps = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    placed = [step[1] for step in steps if step[0] == "placed"]
    assert len(placed) >= 2
    edited, created = project / placed[-2], project / placed[-1]  # placed; journaled but killed before its rename
    edited.write_text("the user's edit after the crash\n")
    created.write_text("a file the user made at that path\n")
    result = slsgen("update", str(project), "--force", cwd=tmp_path)
    line = one_line(result, "changes were undone except", placed[-2], placed[-1])
    assert edited.read_text() == "the user's edit after the crash\n"
    assert created.read_text() == "a file the user made at that path\n"
    assert placed[0] not in line  # placed and unchanged since: undone
    again = slsgen("update", str(project), "--force", "--check", cwd=tmp_path)
    assert again.returncode in (0, 1), again.stderr  # the folder was judged once: later runs go on


# --- 10. The target is checked when it is placed, not only before --------------------------------------------------


def test_a_target_that_appears_while_rendering_is_not_overwritten(tmp_path, monkeypatch):
    original = render.render

    def slow(blueprint, name, answers, workdir):
        project = original(blueprint, name, answers, workdir)
        (tmp_path / name).mkdir()
        (tmp_path / name / "README.md").write_text("the user's, made meanwhile\n")
        return project

    monkeypatch.setattr("generator.project.render", slow)
    with pytest.raises(TargetExists, match="appeared while the project was rendered"):
        generate_project("hello-world", "tgt", output_dir=tmp_path)
    assert (tmp_path / "tgt" / "README.md").read_text() == "the user's, made meanwhile\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["home", "tgt"]


def test_two_concurrent_new_runs_into_one_name_do_not_both_succeed(tmp_path):
    command = [*SLSGEN, "new", "hello-world", "same", "--no-input", "--no-git", "-o", str(tmp_path)]
    runs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(process.wait(timeout=120), process.stderr.read()) for process in runs]  # type: ignore[union-attr]
    assert sorted(code for code, _ in results) == [0, 2, 2], results
    for code, stderr in results:
        if code:
            assert "exists and is not empty" in stderr or "appeared while the project was rendered" in stderr


def test_force_locks_the_target_against_a_concurrent_run(tmp_path):
    target = tmp_path / "proj"
    target.mkdir()
    (target / "mine.txt").write_text("mine\n")
    held = lock(target)
    try:
        result: list[object] = []
        thread = threading.Thread(
            target=lambda: result.append(generate_project("hello-world", "proj", output_dir=tmp_path, force=True))
        )
        thread.start()
        thread.join(timeout=8)
        assert thread.is_alive()  # waiting for the lock, having placed nothing
        assert sorted(path.name for path in target.iterdir()) == ["mine.txt"]
    finally:
        if held is not None:
            os.close(held)
    thread.join(timeout=60)
    assert result
    assert (target / "template.yaml").is_file()
    with locked(target):
        pass


# --- 11. A regeneration discards a pending update -----------------------------------------------------------------


def test_new_force_over_a_pending_update_discards_it_with_a_note(tmp_path):
    project = generate_project("hello-world", "p1", output_dir=tmp_path, options={"memory": 300}).path
    pending = project / ".slsgen" / "pending"
    pending.mkdir()
    (pending / "record.json").write_text(json.dumps({"answers": {"memory": 300}}))
    (pending / "state.json").write_text(json.dumps({"conflicts": [], "removed": []}))
    result = run(
        [*SLSGEN, "new", "hello-world", "p1", "--no-input", "--force", "--memory", "900", "-o", str(tmp_path)], tmp_path
    )
    assert "discarded the update of p1" in result.stdout
    assert not pending.exists()
    one_line(slsgen("update", str(project), "--continue", cwd=tmp_path), "no update waiting")
    assert "MemorySize: 900" in (project / "template.yaml").read_text()


# --- 13. pre_prompt hooks run when trusted -------------------------------------------------------------------------


def test_a_pre_prompt_hook_runs_when_trusted_and_only_then(tmp_path):
    template = tmp_path / "tpl"
    inner = template / "{{cookiecutter.project_name}}"
    inner.mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"project_name": "app", "flavour": "plain"}))
    (inner / "FLAVOUR.md").write_text("{{ cookiecutter.flavour }}\n")
    (template / "hooks").mkdir()
    hook = "import json, pathlib\np = pathlib.Path('cookiecutter.json')\nd = json.loads(p.read_text())\n"
    hook += "d['flavour'] = 'from the hook'\np.write_text(json.dumps(d))\n"
    (template / "hooks" / "pre_prompt.py").write_text(hook)
    one_line(slsgen("new", str(template), "--no-input", cwd=tmp_path), "hook hooks/pre_prompt.py")
    result = slsgen(
        "new", str(template), "--no-input", "--trust", "--no-git", "-o", str(tmp_path / "out"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "app" / "FLAVOUR.md").read_text() == "from the hook\n"
    assert json.loads((template / "cookiecutter.json").read_text())["flavour"] == "plain"  # in a copy


# --- 14. update --ref of a git project without snapshot ------------------------------------------------------------


def test_update_to_a_new_ref_without_snapshot_rerenders_the_recorded_commit_as_base(tmp_path):
    folder = blueprint_folder(tmp_path / "bp", {"NOTES.md": "v1\n"})
    url = repository(folder)
    git("tag", "v1", cwd=folder)
    project = generate_project(url, "p1", output_dir=tmp_path, options={}).path
    (project / ".slsgen" / "base.json.gz").unlink()
    blueprint_folder(folder, {"NOTES.md": "v2\n"}, version="2.0.0")
    commit(folder)
    git("tag", "v2", cwd=folder)
    plan = update_project(project, ref="v2", force=True)
    assert (plan.old_version, plan.new_version) == ("1.0.0", "2.0.0")
    assert (project / "NOTES.md").read_text() == "v2\n"


# --- 17. The git cache is bounded ----------------------------------------------------------------------------------


def test_the_cache_keeps_a_few_recent_commits_per_repository(tmp_path, home):
    folder = blueprint_folder(tmp_path / "bp", {"NOTES.md": "0\n"})
    url = repository(folder)
    commits = []
    for index in range(5):
        (folder / "NOTES.md").write_text(f"{index}\n")
        commits.append(commit(folder))
        fetch(url, commits[-1])
    (cache,) = (home / "cache").iterdir()
    assert sorted(path.name for path in cache.iterdir()) == sorted(commits[-CACHE_COMMITS:])


def test_an_abbreviated_commit_is_found_without_every_commits_files(tmp_path, home):
    folder = blueprint_folder(tmp_path / "bp", {"NOTES.md": "0\n"})
    url = repository(folder)
    first = git("rev-parse", "HEAD", cwd=folder)
    (folder / "NOTES.md").write_text("later\n")
    commit(folder)
    checkout, found = fetch(url, first[:8])
    assert found == first
    assert (checkout / "NOTES.md").read_text() == "0\n"


def test_cache_clear_empties_the_cache(tmp_path, home):
    url = repository(blueprint_folder(tmp_path / "bp", {}))
    fetch(url, None)
    result = run([*SLSGEN, "cache", "clear"], tmp_path)
    assert "removed" in result.stdout
    assert not (home / "cache").exists() or not any((home / "cache").iterdir())


# --- helpers ----------------------------------------------------------------------------------------------------


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".git/" not in path.as_posix()
    }


def edit_record(project: Path, change) -> None:
    record = json.loads((project / ".slsgen.json").read_text())
    change(record)
    (project / ".slsgen.json").write_text(json.dumps(record))


def test_untrusted_is_the_default_for_every_non_builtin_source(tmp_path):
    marker = tmp_path / "ran"
    folder = checked_blueprint(tmp_path / "bp", marker)
    with pytest.raises(Untrusted):
        lint_blueprint(folder)
    with pytest.raises(Untrusted):
        new_project(str(folder), "x", output_dir=tmp_path / "out")
    assert not marker.exists()
    with pytest.raises(BlueprintNotFound):
        fetch("git+ext::sh -c true", None)


def test_blueprint_lint_meets_each_class_at_load_as_new_does(tmp_path, home):
    """`blueprint lint` loads and renders like `new`: an option for git in an `extends:` and a context mutation
    are each one of its problems, never a traceback, and nothing runs or is written outside. (lint takes local
    folders, whose `extends:` may name any folder: containment is a git blueprint's rule.)"""
    marker = tmp_path / "ran"
    parent = repository(blueprint_folder(tmp_path / "parent", {}))
    injecting = blueprint_folder(tmp_path / "a", {}, extends=f"{parent}#ref={INJECTION.format(marker=marker)}")
    for folder in (injecting, mutating_blueprint(tmp_path / "b", home, MUTATIONS[0])):
        problems = lint_blueprint(folder).problems
        assert problems
        assert "Traceback" not in "\n".join(problems)
    assert not marker.exists()
    untouched(home)
