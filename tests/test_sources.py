"""Blueprint sources: team blueprints from git repositories (by tag, branch, commit, sub-folder), the search path,
and plain cookiecutter templates. Every repository is a local one made in tmp_path (`git+file://`): no network."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from generator import load_blueprint, new_project
from generator.errors import BlueprintInvalid, BlueprintNotFound, SourceUnavailable
from generator.sources import resolve, split_reference

from helpers import git, slsgen

TEAM_MANIFEST = """\
name: team-api
title: Team API
description: hello-world with the platform team's defaults
version: {version}
extends: hello-world
runtime: {{memory: 512}}
questions:
  - {{name: owner, type: str, default: platform, help: Owning team}}
"""
HANDLER_SUFFIX = "\n# team blueprint {version}: owned by {{{{ cookiecutter.owner }}}}\n"


def write_team_blueprint(folder: Path, version: str) -> None:
    """A blueprint extending hello-world: one question, one runtime default, one file added."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(TEAM_MANIFEST.format(version=version), encoding="utf-8")
    (folder / "TEAM.md").write_text(f"# {{{{ cookiecutter.project_name }}}}\n\nteam blueprint {version}\n")


def commit_all(repo: Path, message: str) -> str:
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


@pytest.fixture
def team_repo(tmp_path, monkeypatch):
    """A repository whose root is the team blueprint: tag v1 (1.0.0), then main moves on to 2.0.0; branch `next`."""
    monkeypatch.setenv("SLSGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SLSGEN_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("SLSGEN_BLUEPRINTS", raising=False)
    repo = tmp_path / "team-repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    write_team_blueprint(repo, "1.0.0")
    v1 = commit_all(repo, "v1")
    git("tag", "-a", "v1", "-m", "version 1", cwd=repo)
    write_team_blueprint(repo, "2.0.0")
    v2 = commit_all(repo, "v2")
    git("checkout", "-q", "-b", "next", cwd=repo)
    write_team_blueprint(repo, "3.0.0-rc")
    nxt = commit_all(repo, "next")
    git("checkout", "-q", "main", cwd=repo)
    return {"url": f"git+file://{repo}", "repo": repo, "v1": v1, "v2": v2, "next": nxt}


def record(project: Path) -> dict:
    return json.loads((project / ".slsgen.json").read_text(encoding="utf-8"))


def test_a_team_blueprint_from_git_by_tag_extends_a_builtin_and_records_its_commit(team_repo, tmp_path):
    project = new_project(load_blueprint(team_repo["url"], ref="v1"), "svc", output_dir=tmp_path / "out")
    assert "team blueprint 1.0.0" in (project / "TEAM.md").read_text()
    assert (project / "src" / "lambda_function.py").is_file()  # hello-world's files, inherited
    assert "MemorySize: 512" in (project / "template.yaml").read_text()
    blueprint = record(project)["blueprint"]
    assert blueprint == {
        "name": "team-api",
        "version": "1.0.0",
        "source": team_repo["url"],
        "ref": "v1",
        "commit": team_repo["v1"],
    }
    assert record(project)["answers"]["owner"] == "platform"
    assert not (project / ".git").exists()


def test_a_branch_and_the_default_branch_resolve_to_their_newest_commits(team_repo, tmp_path):
    assert resolve(team_repo["url"], ref="next").commit == team_repo["next"]
    project = new_project(load_blueprint(team_repo["url"], ref="next"), "svc", output_dir=tmp_path / "out")
    assert "team blueprint 3.0.0-rc" in (project / "TEAM.md").read_text()
    assert record(project)["blueprint"]["commit"] == team_repo["next"]
    default = resolve(team_repo["url"])
    assert (default.commit, default.ref) == (team_repo["v2"], None)
    assert "2.0.0" in (default.path / "blueprint.yaml").read_text()
    write_team_blueprint(team_repo["repo"], "2.1.0")  # the branch moves: the next resolve sees it
    newer = commit_all(team_repo["repo"], "v2.1")
    assert resolve(team_repo["url"]).commit == newer


def test_a_cached_commit_needs_no_repository(team_repo):
    """`slsgen update` re-resolves a recorded commit: once fetched it is found in the cache, offline."""
    first = resolve(team_repo["url"], ref=team_repo["v1"])
    assert first.commit == team_repo["v1"]
    shutil.rmtree(team_repo["repo"])
    again = resolve(team_repo["url"], ref=team_repo["v1"])
    assert again.path == first.path
    assert "1.0.0" in (again.path / "blueprint.yaml").read_text()


def test_an_abbreviated_commit_is_found(team_repo):
    assert resolve(team_repo["url"], ref=team_repo["v1"][:10]).commit == team_repo["v1"]


def test_an_unknown_ref_or_repository_is_one_line(team_repo, tmp_path):
    with pytest.raises(SourceUnavailable, match=r"cannot fetch ref 'v9' of git\+file://.*check the URL, the ref"):
        resolve(team_repo["url"], ref="v9")
    with pytest.raises(SourceUnavailable, match="cannot fetch git\\+file://"):
        resolve(f"git+file://{tmp_path}/nowhere")
    with pytest.raises(BlueprintNotFound, match="--ref applies to git repositories"):
        resolve("hello-world", ref="v1")


def monorepo(tmp_path: Path) -> str:
    """A repository of several blueprints: `blueprints/base` and `blueprints/api`, which extends `../base`."""
    repo = tmp_path / "many"
    (repo / "blueprints").mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=repo)
    write_team_blueprint(repo / "blueprints" / "base", "1.0.0")
    api = repo / "blueprints" / "api"
    api.mkdir()
    (api / "blueprint.yaml").write_text(
        "name: api\ntitle: API\ndescription: the team API\nversion: 0.1.0\nextends: ../base\n"
        "questions:\n  - {name: tier, type: choice, choices: [gold, silver], default: silver}\n"
    )
    (api / "TIER.md").write_text("tier {{ cookiecutter.tier }}\n")
    commit_all(repo, "two blueprints")
    git("tag", "v1", cwd=repo)
    return f"git+file://{repo}"


def test_directory_picks_one_blueprint_of_a_repository_and_a_relative_extends_stays_in_it(team_repo, tmp_path):
    url = monorepo(tmp_path)
    loaded = load_blueprint(url, ref="v1", directory="blueprints/api")
    assert [layer.name for layer in loaded.layers] == ["skeleton", "hello-world", "team-api", "api"]
    assert [q.name for q in loaded.questions][-2:] == ["owner", "tier"]
    assert loaded.directory == "blueprints/api"
    project = new_project(loaded, "svc", output_dir=tmp_path / "out", options={"tier": "gold"})
    assert (project / "TIER.md").read_text() == "tier gold\n"
    assert record(project)["blueprint"]["directory"] == "blueprints/api"
    with pytest.raises(BlueprintNotFound, match=r"has no blueprint\.yaml .*pick one with --directory"):
        resolve(url, ref="v1")
    with pytest.raises(BlueprintNotFound, match="must be a folder inside"):
        resolve(url, ref="v1", directory="../team-repo")


def test_a_git_blueprint_extends_another_git_blueprint_named_with_a_fragment(team_repo, tmp_path):
    child = tmp_path / "child-repo"
    child.mkdir()
    git("init", "-q", "-b", "main", cwd=child)
    (child / "blueprint.yaml").write_text(
        f"name: child\ntitle: Child\ndescription: on the team's v1\nversion: 1.0.0\n"
        f"extends: '{team_repo['url']}#ref=v1'\n"
    )
    commit_all(child, "child")
    loaded = load_blueprint(f"git+file://{child}")
    assert [layer.name for layer in loaded.layers] == ["skeleton", "hello-world", "team-api", "child"]
    assert loaded.chain == ["builtin:hello-world", team_repo["url"], f"git+file://{child}"]
    assert "1.0.0" in (loaded.layers[2].path / "blueprint.yaml").read_text()


def test_a_local_folder_with_directory_records_its_root_and_resolves_again(tmp_path):
    write_team_blueprint(tmp_path / "shelf" / "api", "1.0.0")
    first = resolve(str(tmp_path / "shelf"), directory="api")
    assert (first.source, first.directory) == (str(tmp_path / "shelf"), "api")
    assert resolve(first.source, directory=first.directory).path == first.path == tmp_path / "shelf" / "api"


def test_a_recorded_builtin_source_resolves_again():
    assert resolve("builtin:hello-world").source == "builtin:hello-world"
    with pytest.raises(BlueprintNotFound, match="no longer ships"):
        resolve("builtin:retired-blueprint")


def test_a_fragment_names_ref_and_directory():
    assert split_reference("git@github.com:acme/bp.git#ref=v2&directory=x/y") == (
        "git@github.com:acme/bp.git",
        "v2",
        "x/y",
    )
    with pytest.raises(BlueprintNotFound, match="unknown fragment key 'branch'"):
        split_reference("https://example.com/bp.git#branch=v2")


def test_the_command_line_takes_a_repository_with_ref(team_repo, tmp_path):
    out = tmp_path / "out"
    result = slsgen("new", team_repo["url"], "svc", "--ref", "v1", "--no-input", "-o", str(out), cwd=tmp_path)
    assert "Created svc from team-api 1.0.0" in result.stdout
    assert record(out / "svc")["blueprint"]["commit"] == team_repo["v1"]


def test_the_search_path_names_blueprints_that_list_shows_with_their_source(team_repo, tmp_path, monkeypatch):
    shelf = tmp_path / "shelf"
    write_team_blueprint(shelf / "team-api", "1.5.0")
    url = monorepo(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(f'blueprints = ["{url}#ref=v1&directory=blueprints"]\n')
    monkeypatch.setenv("SLSGEN_CONFIG", str(config))
    monkeypatch.setenv("SLSGEN_BLUEPRINTS", os.pathsep.join([str(shelf), str(tmp_path / "gone")]))
    listing = slsgen("list", cwd=tmp_path).stdout
    assert "hello-world" in listing
    assert "built-in" in listing
    assert "team-api" in listing
    assert "shelf" in listing
    assert "api" in listing
    assert "unavailable" in listing  # the missing folder is shown, not silently skipped
    project = new_project("team-api", "svc", output_dir=tmp_path / "out")
    assert record(project)["blueprint"]["source"] == str(shelf / "team-api")
    assert load_blueprint("api").directory == "blueprints/api"


COOKIECUTTER_JSON = {
    "project_name": "sam-app",
    "runtime": ["python3.13", "python3.12"],
    "architectures": {"value": ["arm64"]},
    "owner": "team",
}


def cookiecutter_template(folder: Path) -> Path:
    """A plain cookiecutter template shaped like the AWS SAM app templates."""
    project = folder / "{{cookiecutter.project_name}}"
    (project / "hello_world").mkdir(parents=True)
    (folder / "cookiecutter.json").write_text(json.dumps(COOKIECUTTER_JSON))
    (project / "template.yaml").write_text(
        textwrap.dedent(
            """\
            Resources:
              HelloWorldFunction:
                Properties:
                  Runtime: {{ cookiecutter.runtime }}
                  Tags: {owner: {{ cookiecutter.owner }}}
            """
        )
    )
    (project / "hello_world" / "app.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    return folder


def test_a_cookiecutter_template_is_rendered_with_its_own_questions(team_repo, tmp_path):
    template = cookiecutter_template(tmp_path / "sam-template")
    out = tmp_path / "out"
    args = ("new", str(template), "orders", "--no-input", "-o", str(out), "--set", "owner=payments")
    result = slsgen(*args, cwd=tmp_path)
    assert "cookiecutter template sam-template" in result.stdout
    text = (out / "orders" / "template.yaml").read_text()
    assert "Runtime: python3.13" in text
    assert "owner: payments" in text
    made = record(out / "orders")
    assert made["blueprint"] == {"name": "sam-template", "kind": "cookiecutter", "source": str(template)}
    assert made["answers"]["owner"] == "payments"
    assert sorted(path.name for path in out.iterdir()) == ["orders"]  # no work folder left behind


def test_a_cookiecutter_template_refuses_slsgen_flags_and_unknown_keys(team_repo, tmp_path):
    template = cookiecutter_template(tmp_path / "sam-template")
    out = tmp_path / "out"
    result = slsgen(
        "new", str(template), "x", "--no-input", "-o", str(out), "--memory", "256", cwd=tmp_path, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --memory applies to slsgen blueprints")
    result = slsgen(
        "new", str(template), "x", "--no-input", "-o", str(out), "--set", "ownr=a", cwd=tmp_path, check=False
    )
    assert result.stderr.startswith("error: unknown option 'ownr' for the cookiecutter template sam-template")
    assert not out.exists()
    with pytest.raises(BlueprintInvalid, match="is a cookiecutter template, not an slsgen blueprint"):
        load_blueprint(str(template))


def test_update_follows_a_git_branch_and_keeps_the_user_s_edits(team_repo, tmp_path):
    """`slsgen update` fetches the recorded branch again: the new commit's files merge into the project."""
    from generator.update import update_project

    project = new_project(load_blueprint(team_repo["url"], ref="next"), "svc", output_dir=tmp_path / "out")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur own notes.\n")
    git("checkout", "-q", "next", cwd=team_repo["repo"])
    write_team_blueprint(team_repo["repo"], "3.0.0")
    newer = commit_all(team_repo["repo"], "3.0.0 final")
    git("checkout", "-q", "main", cwd=team_repo["repo"])

    plan = update_project(project, force=True)  # not a git work tree: nothing to refuse
    assert not plan.conflicts
    assert "team blueprint 3.0.0\n" in (project / "TEAM.md").read_text()
    assert readme.read_text().endswith("Our own notes.\n")
    assert record(project)["blueprint"]["commit"] == newer
    assert record(project)["blueprint"]["version"] == "3.0.0"


def test_config_show_takes_ref_and_directory_and_names_the_blueprint_that_set_each_default(team_repo, tmp_path):
    url = monorepo(tmp_path)
    result = slsgen("config", "show", url, "--ref", "v1", "--directory", "blueprints/api", cwd=tmp_path)
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in result.stdout.splitlines()[3:] if line.strip()}
    assert rows["memory"] == "512 blueprint team-api"  # the parent's runtime default, not the child's
    assert rows["owner"] == "platform blueprint team-api"
    assert rows["greeting"] == "Hello blueprint hello-world"
    assert rows["tier"] == "silver blueprint api"
    assert rows["runtime"] == "python3.13 slsgen default"
    missing = slsgen("config", "show", url, "--ref", "v1", cwd=tmp_path, check=False)
    assert missing.returncode == 2
    assert "pick one with --directory" in missing.stderr


def test_config_show_lists_a_cookiecutter_template_s_questions(team_repo, tmp_path):
    template = cookiecutter_template(tmp_path / "sam-template")
    result = slsgen("config", "show", str(template), "--set", "runtime=python3.12", cwd=tmp_path)
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in result.stdout.splitlines()[3:] if line.strip()}
    assert rows["runtime"] == "python3.12 --set"
    assert rows["owner"] == "team template sam-template"
    bad = slsgen("config", "show", str(template), "--set", "runtime=python2.7", cwd=tmp_path, check=False)
    assert bad.stderr == "error: --set: runtime must be one of python3.13, python3.12, not 'python2.7'\n"
