"""Plain cookiecutter templates render as `cookiecutter()` renders them (cookiecutter 2.7), and fail in one line.

Each fixture is a small template built here that exercises one feature of cookiecutter (nested templates, its
context keys, `_copy_without_render`, conditional file names, dict variables, `../templates` includes, hooks);
slsgen's output is compared file by file (bytes and executable bit) with cookiecutter's own output for the same
template, answers and output folder. Everything is local: no network.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SLSGEN, run

BOOKKEEPING = (".slsgen.json", ".slsgen", ".git")


def slsgen(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`slsgen ARGS` with no config file of the user's."""
    return run([*SLSGEN, *args], tmp_path, env={"SLSGEN_CONFIG": str(tmp_path / "none.toml")}, check=False)


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def template(root: Path, context: dict, files: dict[str, str | bytes]) -> Path:
    write(root, {"cookiecutter.json": json.dumps(context), **files})
    return root


def tree(folder: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under `folder` but slsgen's records and git's: its bytes and whether it is executable."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if relative.parts[0] in BOOKKEEPING or not path.is_file():
            continue
        found[relative.as_posix()] = (path.read_bytes(), bool(path.stat().st_mode & stat.S_IXUSR))
    return found


def by_cookiecutter(tmp_path: Path, source: str, out: Path, extra: dict | None = None, hooks: bool = False) -> Path:
    """cookiecutter's own output, with a config of its own in tmp_path (no replay files in the home)."""
    from cookiecutter.main import cookiecutter

    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\ncookiecutters_dir: {tmp_path / 'cookiecutters'}\n")
    return Path(
        cookiecutter(
            source, no_input=True, output_dir=str(out), extra_context=extra, config_file=str(config), accept_hooks=hooks
        )
    )


def compare(tmp_path: Path, source: Path, extra: dict | None = None, *slsgen_args: str, hooks: bool = False) -> Path:
    """Render `source` with cookiecutter, then with slsgen into the same output folder; assert the same files."""
    out = tmp_path / "out"
    expected_folder = by_cookiecutter(tmp_path, str(source), out, extra, hooks)
    expected = tree(expected_folder)
    shutil.rmtree(out)
    sets = [
        f"--set={key}={value if isinstance(value, str) else json.dumps(value)}" for key, value in (extra or {}).items()
    ]
    result = slsgen(tmp_path, "new", str(source), "--no-input", "--no-git", "-o", str(out), *sets, *slsgen_args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    made = out / expected_folder.name
    assert tree(made) == expected
    assert sorted(path.name for path in out.iterdir()) == [expected_folder.name]  # no work folder left
    return made


CONTEXT_FILE = (
    "template {{ cookiecutter._template }}\n"
    "output {{ cookiecutter._output_dir }}\n"
    "repo {{ cookiecutter._repo_dir }}\n"
    "checkout {{ cookiecutter._checkout }}\n"
    "original {{ _cookiecutter | dictsort }}\n"
    "answers {{ cookiecutter | dictsort | selectattr(0, 'ne', '_cookiecutter') | list }}\n"
)


def test_the_context_holds_cookiecutter_s_private_keys_as_cookiecutter_gives_them(tmp_path):
    source = template(
        tmp_path / "ctx",
        {"project_name": "App", "project_slug": "{{ cookiecutter.project_name.lower() }}", "flag": False},
        {"{{cookiecutter.project_slug}}/context.txt": CONTEXT_FILE},
    )
    made = compare(tmp_path, source, {"project_name": "Shop"})
    text = (made / "context.txt").read_text()
    assert f"template {source}\n" in text  # the source as given, not a copy's path
    assert f"output {tmp_path / 'out'}\n" in text  # where the project is placed, not the work folder
    assert "original [('flag', False), ('project_name', 'Shop'), ('project_slug'" in text


def test_a_file_using_an_undefined_key_names_the_key(tmp_path):
    source = template(
        tmp_path / "t", {"project_name": "app"}, {"{{cookiecutter.project_name}}/a.txt": "{{ cookiecutter.colour }}\n"}
    )
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "Unable to create file 'a.txt': it uses 'colour', which its context does not define" in result.stderr
    assert not (tmp_path / "out").exists()


NESTED = {
    "templates": {
        "api": {"path": "./api", "title": "API", "description": "an HTTP API"},
        "worker": {"path": "./worker", "title": "Worker", "description": "a queue worker"},
    }
}


def nested(root: Path) -> Path:
    template(root, NESTED, {})
    template(
        root / "api",
        {"project_name": "api", "port": "8080"},
        {"{{cookiecutter.project_name}}/api.txt": "{{ cookiecutter.port }} {{ cookiecutter._template }}\n"},
    )
    template(
        root / "worker",
        {"project_name": "worker", "queue": "jobs"},
        {"{{cookiecutter.project_name}}/worker.txt": "{{ cookiecutter.queue }}\n"},
    )
    return root


def test_nested_templates_render_the_first_under_no_input_as_cookiecutter_does(tmp_path):
    made = compare(tmp_path, nested(tmp_path / "set"))
    assert made.name == "api"
    assert json.loads((made / ".slsgen.json").read_text())["answers"]["templates"] == "api"


def test_set_templates_chooses_a_nested_template_and_its_questions_apply(tmp_path):
    source = nested(tmp_path / "set")
    out = tmp_path / "out"
    result = slsgen(
        tmp_path,
        "new",
        str(source),
        "--no-input",
        "--no-git",
        "-o",
        str(out),
        "--set",
        "templates=worker",
        "--set",
        "queue=mail",
    )
    assert result.returncode == 0, result.stderr
    assert (out / "worker" / "worker.txt").read_text() == "mail\n"
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(out), "--set", "templates=cron")
    assert result.returncode == 2
    assert result.stderr == "error: --set templates=cron: the template set has api, worker\n"


def test_old_style_nested_templates(tmp_path):
    source = template(tmp_path / "old", {"template": ["first (./one)", "second (./two)"]}, {})
    template(source / "one", {"project_name": "one"}, {"{{cookiecutter.project_name}}/one.txt": "1\n"})
    template(source / "two", {"project_name": "two"}, {"{{cookiecutter.project_name}}/two.txt": "2\n"})
    assert compare(tmp_path, source).name == "one"


def test_a_nested_template_outside_the_template_is_refused(tmp_path):
    template(tmp_path / "elsewhere", {"project_name": "x"}, {"{{cookiecutter.project_name}}/x.txt": "x\n"})
    source = template(tmp_path / "escape", {"templates": {"x": {"path": "../elsewhere"}}}, {})
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "is not a template folder inside escape; refused" in result.stderr
    assert not (tmp_path / "out").exists()


FEATURES = {
    "project_name": "Feature Shop",
    "project_slug": "{{ cookiecutter.project_name.lower().replace(' ', '_') }}",
    "license": ["MIT", "BSD-3-Clause", "Apache-2.0"],
    "use_docker": False,
    "author": {"name": "Ada", "email": "ada@example.com"},
    "__prompts__": {"project_name": "Your project's name"},
    "_copy_without_render": ["raw/*", "*.keep"],
    "_private": "kept",
}


def features(root: Path) -> Path:
    """One template with what real templates use (cookiecutter-pypackage's and cookiecutter-django's shapes)."""
    return template(
        root,
        FEATURES,
        {
            "templates/partial.txt": "included for {{ cookiecutter.author.name }}\n",
            "{{cookiecutter.project_slug}}/README.md": (
                "# {{ cookiecutter.project_name }}\n{% include 'partial.txt' %}License: {{ cookiecutter.license }}\n"
                "{% if cookiecutter.use_docker %}docker{% endif %}\n{{ cookiecutter._private }}\n"
            ),
            "{{cookiecutter.project_slug}}/{{cookiecutter.project_slug}}/__init__.py": (
                '"""{{ cookiecutter.project_slug }}."""\n'
            ),
            "{{cookiecutter.project_slug}}/{% if cookiecutter.use_docker %}Dockerfile{% endif %}": "FROM python\n",
            "{{cookiecutter.project_slug}}/raw/{{cookiecutter.project_slug}}.txt": "{{ not rendered }}\n",
            "{{cookiecutter.project_slug}}/notes.keep": "{{ kept as is }}\n",
            "{{cookiecutter.project_slug}}/crlf.txt": "one\r\ntwo {{ cookiecutter.project_slug }}\r\n",
            "{{cookiecutter.project_slug}}/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
            "{{cookiecutter.project_slug}}/run.sh": "#!/bin/sh\necho {{ cookiecutter.project_slug }}\n",
        },
    )


def test_cookiecutter_s_features_render_identically(tmp_path):
    source = features(tmp_path / "features")
    (source / "{{cookiecutter.project_slug}}" / "run.sh").chmod(0o755)
    compare(tmp_path, source)
    shutil.rmtree(tmp_path / "out")
    made = compare(tmp_path, source, {"license": "Apache-2.0", "use_docker": "yes", "author": {"name": "Grace"}})
    assert (made / "Dockerfile").is_file()
    assert "included for Grace" in (made / "README.md").read_text()


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("license=GPL", "error: --set license=GPL: license must be one of MIT, BSD-3-Clause, Apache-2.0, not 'GPL'\n"),
        (
            "use_docker=maybe",
            "error: --set use_docker=maybe: use_docker is yes or no (also true/false, 1/0, on/off), not 'maybe'\n",
        ),
        (
            "author=bob",
            "error: --set author=bob: author is a dict of values, not 'bob': give it as a JSON object, e.g. "
            '\'{"name": "Ada", "email": "ada@example.com"}\'\n',
        ),
        (
            "colour=red",
            "error: unknown option 'colour' for the cookiecutter template features; its questions: project_name, "
            "project_slug, license, use_docker, author (set them with --set KEY=VALUE)\n",
        ),
    ],
)
def test_an_answer_its_variable_refuses_is_one_line(tmp_path, pair, message):
    source = features(tmp_path / "features")
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(tmp_path / "out"), "--set", pair)
    assert (result.returncode, result.stderr) == (2, message)
    assert not (tmp_path / "out").exists()


def test_a_template_without_a_templated_folder_is_one_line(tmp_path):
    source = template(tmp_path / "flat", {"project_name": "x"}, {"README.md": "# x\n"})
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: rendering flat failed: it has no templated folder (a folder beside")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_non_utf8_text_file_is_one_line_and_a_binary_file_is_copied_as_it_is(tmp_path):
    binary = b"\x00\x01\xff\xfe binary \x80"
    source = template(
        tmp_path / "enc",
        {"project_name": "x"},
        {
            "{{cookiecutter.project_name}}/data.bin": binary,
            "{{cookiecutter.project_name}}/notes.txt": "caf\xe9\n".encode("latin-1"),
        },
    )
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr == (
        "error: enc: notes.txt is not UTF-8 text (byte 0xe9 at offset 3): save it as UTF-8, or list it in "
        "_copy_without_render (cookiecutter.json) to copy it as it is\n"
    )
    (source / "{{cookiecutter.project_name}}" / "notes.txt").unlink()
    made = compare(tmp_path, source)
    assert (made / "data.bin").read_bytes() == binary


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (
            "module=a/b",
            "the path 'x/a/b.py' names a file (or the project folder) with a '/' in it: '{{cookiecutter.module}}.py' "
            "renders as 'a/b.py'; give an answer without '/'",
        ),
        ("project_name=a/b", "the path 'a/b/a.py' names a file (or the project folder) with a '/' in it"),
        ("module=a:b", "the path 'x/a:b.py' has the character ':', invalid on Windows"),
        ("project_name=a:b", "the path 'a:b/a.py' has the character ':', invalid on Windows"),
        (
            "module=/tmp/abs",
            "the path 'x//tmp/abs.py' is (or holds) an absolute path: '{{cookiecutter.module}}.py' renders as "
            "'/tmp/abs.py'",
        ),
    ],
)
def test_an_answer_that_breaks_a_path_names_the_problem_not_a_work_folder(tmp_path, pair, message):
    source = template(
        tmp_path / "t",
        {"project_name": "x", "module": "a"},
        {"{{cookiecutter.project_name}}/{{cookiecutter.module}}.py": "x = 1\n"},
    )
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(tmp_path / "out"), "--set", pair)
    assert result.returncode == 2
    assert message in result.stderr
    assert ".slsgen-" not in result.stderr
    assert "No such file" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_folder_answer_with_a_slash_nests_folders_as_cookiecutter_does(tmp_path):
    source = template(
        tmp_path / "pkg",
        {"project_name": "x", "package": "a"},
        {"{{cookiecutter.project_name}}/{{cookiecutter.package}}/m.py": "x = 1\n"},
    )
    made = compare(tmp_path, source, {"package": "src/shop"})
    assert (made / "src" / "shop" / "m.py").is_file()


def hooked(root: Path, hooks: dict[str, str]) -> Path:
    return template(
        root,
        {"project_name": "x"},
        {"{{cookiecutter.project_name}}/a.txt": "a\n", **{f"hooks/{name}": body for name, body in hooks.items()}},
    )


def test_hooks_run_in_the_project_folder_they_render_and_see_the_output_folder(tmp_path):
    body = (
        "import os\nopen('cwd.txt', 'w').write(os.path.basename(os.getcwd()) + ' {{ cookiecutter._output_dir }}\\n')\n"
    )
    source = hooked(tmp_path / "hooks", {"post_gen_project.py": body})
    made = compare(tmp_path, source, None, "--trust", hooks=True)
    assert (made / "cwd.txt").read_text() == f"x {tmp_path / 'out'}\n"


def test_a_failing_hook_prints_its_own_output_and_slsgen_s_one_line_only(tmp_path):
    source = hooked(
        tmp_path / "hooks",
        {"pre_gen_project.py": "import sys\nprint('module name is taken', file=sys.stderr)\nsys.exit(3)\n"},
    )
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(tmp_path / "out"), "--trust")
    assert result.returncode == 2
    assert result.stderr == (
        "module name is taken\nerror: rendering hooks failed: its pre_gen_project hook failed (Hook script failed "
        "(exit status: 3); the hook's own output is above); nothing was written\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_hook_that_makes_a_venv_is_refused_naming_the_link_that_leaves(tmp_path):
    body = (
        f"import subprocess\nsubprocess.run([{sys.executable!r}, '-m', 'venv', '--without-pip', '.venv'], check=True)\n"
    )
    source = hooked(tmp_path / "hooks", {"post_gen_project.py": body})
    result = slsgen(tmp_path, "new", str(source), "--no-input", "-o", str(tmp_path / "out"), "--trust")
    assert result.returncode == 2
    line = result.stderr.splitlines()[-1]
    link = line.split(": ", 2)[2].split(" is a link to ")
    target = link[1].split(", outside the project")[0]
    assert os.path.isabs(target), line  # the link whose own target is outside, not one pointing at a sibling
    assert link[0].startswith(".venv/bin/python")
    assert not (tmp_path / "out").exists()


def test_a_project_from_a_template_updates_with_a_three_way_merge(tmp_path):
    source = template(
        tmp_path / "svc-template",
        {"project_name": "svc", "owner": "team"},
        {"{{cookiecutter.project_name}}/NOTES.md": "first\nowner {{ cookiecutter.owner }}\nlast\n"},
    )
    out = tmp_path / "out"
    assert (
        slsgen(tmp_path, "new", str(source), "--no-input", "--no-git", "-o", str(out), "--set", "owner=ops").returncode
        == 0
    )
    project = out / "svc"
    (project / "NOTES.md").write_text("first, mine\nowner ops\nlast\n")
    notes = source / "{{cookiecutter.project_name}}" / "NOTES.md"
    notes.write_text(notes.read_text().replace("last", "last, upstream"))
    data = json.loads((source / "cookiecutter.json").read_text())
    (source / "cookiecutter.json").write_text(json.dumps({**data, "region": "eu-west-1"}))

    result = slsgen(tmp_path, "update", str(project), "--no-input")

    assert result.returncode == 0, result.stderr
    assert "new question region = 'eu-west-1'" in result.stdout
    assert (project / "NOTES.md").read_text() == "first, mine\nowner ops\nlast, upstream\n"
    recorded = json.loads((project / ".slsgen.json").read_text())
    assert recorded["answers"] == {"project_name": "svc", "owner": "ops", "region": "eu-west-1"}
    assert slsgen(tmp_path, "update", str(project), "--check").returncode == 0  # up to date now
