"""Environment variables as Lambda checks them, and the generated project's docs and Makefile telling the truth."""

from __future__ import annotations

import sys

from generator import new_project

from helpers import BIN, generate, run, slsgen


def test_an_env_key_the_blueprint_sets_is_refused_with_nothing_written(tmp_path):
    result = slsgen("new", "hello-world", "svc", "--no-input", "--env", "GREETING=Yo", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "error: --env GREETING: the hello-world blueprint sets GREETING itself in template.yaml; choose another "
        "name, or change the blueprint's value through its options (`slsgen show hello-world`)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_other_env_keys_are_written_once_and_pass_cfn_lint(tmp_path):
    project = generate(tmp_path, "hello-world", "svc", "--env", "TABLE_NAME=orders", "--env", "Greeting2=x")
    template = (project / "template.yaml").read_text()
    assert template.count("GREETING:") == 1
    assert 'TABLE_NAME: "orders"' in template
    run([str(BIN / "cfn-lint"), "template.yaml"], project)


def test_env_key_messages_name_the_rule_broken(tmp_path):
    for pair, message in [
        ("_HANDLER=x", "environment variable _HANDLER is reserved by Lambda, and names start with a letter"),
        ("X=1", "'X' is too short: Lambda needs at least 2 characters"),
        ("_X=1", "'_X' must start with a letter"),
    ]:
        result = slsgen("new", "hello-world", "svc", "--no-input", "--env", pair, cwd=tmp_path, check=False)
        assert result.returncode == 2
        assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_readme_describes_the_log_format_chosen(tmp_path):
    text = new_project("hello-world", "text", output_dir=tmp_path, options={"log_format": "text"})
    readme = (text / "README.md").read_text()
    assert "Logs are plain text lines (Lambda's text log format)" in readme
    assert "structured JSON lines with the request id (Lambda's JSON log format)" not in readme
    json_logs = new_project("hello-world", "json", output_dir=tmp_path)
    assert "Logs are structured JSON lines" in (json_logs / "README.md").read_text()
    resize = new_project("image-resize", "resize", output_dir=tmp_path, options={"log_format": "text"})
    assert "logs one text line per object" in (resize / "README.md").read_text()


def test_make_package_keeps_the_rest_of_build(tmp_path):
    """`make package` replaces only its own output: invoke-local's thumbnails and the sample images stay."""
    project = generate(tmp_path, "hello-world", "pkg", "--set", "trigger=none", "--runtime", "python3.13")
    (project / "build" / "thumbnails").mkdir(parents=True)
    (project / "build" / "thumbnails" / "a.jpg").write_bytes(b"thumb")
    run(["make", "install", f"PYTHON={sys.executable}"], project, timeout=600)
    run(["make", "package"], project, timeout=600)
    run(["make", "package"], project, timeout=600)  # twice: the second replaces the first's output
    assert (project / "build" / "thumbnails" / "a.jpg").read_bytes() == b"thumb"
    assert (project / "dist" / "pkg.zip").is_file()  # the zip goes to dist/, build/ is left alone
