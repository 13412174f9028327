"""Handler names either work end to end or are refused with the reason, and nothing is written.

The checks are generic (the rendered project's files, imports and module-level names), so these cases name the
built-in blueprints' own names only as examples of what any blueprint's code may hold.
"""

from __future__ import annotations

import pytest

from generator import new_project
from generator.errors import InvalidOption
from generator.handler_check import foreign_import

from helpers import slsgen


@pytest.mark.parametrize(
    ("blueprint", "handler", "message"),
    [
        ("hello-world", "app.main.x", "names a module inside a package"),
        ("hello-world", "app.greet", r"handler function 'greet' would collide .* \(src/app\.py line \d+\)"),
        ("hello-world", "app.respond", "handler function 'respond' would collide"),
        ("hello-world", "app.json", "handler function 'json' would collide"),
        ("hello-world", "app.GREETING", "handler function 'GREETING' would collide"),
        ("hello-world", "app.logger", "handler function 'logger' would collide"),
        ("hello-world", "app.LambdaContext", "handler function 'LambdaContext' would collide"),
        ("hello-world", "conftest.main", r"handler module 'conftest' would collide with tests/conftest\.py"),
        ("hello-world", "lambda_runner.main", "handler module 'lambda_runner' would shadow the module of that name"),
        ("hello-world", "yaml.main", r"handler module 'yaml' would hide the module 'yaml' that lambda_runner/"),
        ("hello-world", "pytest.main", r"would hide the module 'pytest' that \S+ imports"),
        ("hello-world", "app.print", "builtin print"),
        ("image-resize", "app.Image", "handler function 'Image' would collide"),
        ("image-resize", "moto.resize", r"would hide the module 'moto' that lambda_runner/\S+ imports"),
        ("image-resize", "PIL.resize", r"would hide the module 'PIL' that scripts/sample_image\.py imports"),
    ],
)
def test_handlers_that_would_break_the_project_are_refused(tmp_path, blueprint, handler, message):
    with pytest.raises(InvalidOption, match=message):
        new_project(blueprint, "svc", output_dir=tmp_path / "out", options={"handler": handler})
    assert not (tmp_path / "out").exists()


def test_the_trigger_none_variant_is_checked_on_its_own_code(tmp_path):
    """`respond` exists only in the HTTP variant of hello-world: without it, the name is free."""
    options = {"handler": "app.respond", "trigger": "none"}
    project = new_project("hello-world", "svc", output_dir=tmp_path, options=options)
    assert "def respond(event: GreetingEvent" in (project / "src" / "app.py").read_text()


def test_a_refused_handler_is_one_line_from_the_cli(tmp_path):
    result = slsgen("new", "hello-world", "svc", "--no-input", "--handler", "app.greet", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: handler function 'greet' would collide")
    assert result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("code", "bound", "line"),
    [
        ("from app import greet, respond\n", {"greet", "respond"}, None),  # the tests importing the handler's names
        ("import app\n\napp.greet()\n", {"greet"}, None),
        ("import json\nfrom app import mock_aws\n", {"greet"}, 2),  # expects another module named app
        ("import app\n\napp.safe_load('x')\n", {"greet"}, 1),
        ("import app.sub\n", {"greet"}, 1),
        ("def f():\n    from app import Image\n", None, 2),  # the handler module importing its own name
        ("import other\n", None, None),
    ],
)
def test_foreign_imports_of_the_handler_module_name(tmp_path, code, bound, line):
    path = tmp_path / "x.py"
    path.write_text(code)
    assert foreign_import(path, "app", bound) == line
