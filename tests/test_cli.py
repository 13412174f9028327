"""The command line as a user meets it: help, tables, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import re
import time

import pexpect
import pytest

import generator

from helpers import SLSGEN, generate, run, slsgen


def test_version():
    from generator import __version__

    assert slsgen("--version", cwd=".").stdout.strip() == f"slsgen {__version__}"


@pytest.mark.parametrize("command", [[], ["new"], ["list"], ["show"]])
def test_every_command_has_help_with_examples(command, tmp_path):
    result = slsgen(*command, "--help", cwd=tmp_path)
    assert "Usage:" in result.stdout
    assert "Example" in result.stdout


def test_slsgen_alone_prints_the_help_as_asked_for(tmp_path):
    result = slsgen(cwd=tmp_path)
    assert result.stdout == slsgen("--help", cwd=tmp_path).stdout
    assert result.stdout.startswith("Usage: slsgen [OPTIONS] COMMAND [ARGS]...")
    assert "\n  -h, --help            Show this message and exit." in result.stdout  # aligned as click lays it out
    assert "error" not in result.stdout + result.stderr


def test_new_help_names_what_each_option_takes(tmp_path):
    out = slsgen("new", "--help", cwd=tmp_path).stdout
    for option in ("--memory MB", "--timeout SECONDS", "--ephemeral-storage MB", "--reserved-concurrency INTEGER"):
        assert option in out
    assert "--handler MODULE.FUNCTION" in out
    assert "<str>" not in out


def test_show_keeps_values_whole_at_80_columns(tmp_path):
    out = run([*SLSGEN, "show", "hello-world"], tmp_path, env={"COLUMNS": "80"}).stdout
    assert "…" not in out
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80
    for value in (
        "lambda_function.lambda_handler",
        "function-url",
        "security-group",
        "(when trigger == 'function-url')",
    ):
        assert value in out
    handler = out[out.index("handler") : out.index("ephemeral_storage")]
    assert "module.function of Python identifiers" in handler
    assert "any text" not in handler


def test_list_shows_every_blueprint_whole_at_80_columns(tmp_path):
    out = run([*SLSGEN, "list"], tmp_path, env={"COLUMNS": "80"}).stdout
    assert "hello-world  (built-in)" in out
    assert "data-processing  (built-in)" in out  # a table cut it to `data-process…`
    assert "trigger: SQS / SQS FIFO / Kinesis / DynamoDB Streams / S3 / schedule" in out
    assert "…" not in out


def test_show_lists_options_with_defaults_and_allowed_values(tmp_path):
    out = slsgen("show", "hello-world", cwd=tmp_path).stdout
    for text in ("runtime", "python3.13", "arm64", "128..10240", "trigger", "http-api", "greeting", "Hello"):
        assert text in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new", "hello-wrld", "x"], "unknown blueprint 'hello-wrld': did you mean 'hello-world'?"),
        (["new", "hello-world", "Bad_Name"], "is not a slug"),
        (["new", "hello-world", "../escape"], "must be a plain name, not a path"),
        (["new", "hello-world", "x", "--memory", "64"], "memory must be between 128 and 10240 MB"),
        (["new", "hello-world", "x", "--memory", "20000"], "memory must be between 128 and 10240 MB"),
        (["new", "hello-world", "x", "--timeout", "901"], "timeout must be between 1 and 900 seconds"),
        (["new", "hello-world", "x", "--runtime", "python3.11"], "python3.11 was deprecated on 2026-06-30"),
        (["new", "hello-world", "x", "--runtime", "python3.10"], "python3.10 was deprecated on 2026-06-30"),
        (["new", "hello-world", "x", "--arch", "aarch64"], "architecture must be one of arm64, x86_64"),
        (["new", "hello-world", "x", "--set", "greting=Hi"], "unknown option 'greting' for hello-world; valid"),
        (["new", "hello-world", "x", "--set", "greeting"], "write it as --set KEY=VALUE"),
        (["new", "hello-world", "x", "--env", "NOEQUALS"], "write it as --env KEY=VALUE"),
        (["new", "hello-world", "x", "--env", "AWS_REGION=eu-west-1"], "reserved by Lambda"),
        (["new", "hello-world", "x", "--handler", "nodots"], "write it as module.function"),
        (["new", "hello-world", "x", "--log-format", "xml"], "log_format must be one of json, text"),
        (["new", "hello-world", "x", "--log-format", "text", "--log-level", "DEBUG"], "needs the JSON log format"),
        (["new", "hello-world", "x", "--ephemeral-storage", "100"], "between 512 and 10240 MB"),
        (["new", "hello-world", "x", "--set", "greeting=<script>"], "greeting '<script>' is not valid"),
        (["new", "hello-world"], "name the project: slsgen new hello-world NAME"),
        (["new"], "name a blueprint"),
        (["show", "nope"], "unknown blueprint 'nope'"),
        (["new", "hello-world", "x", "--bogus"], "No such option: --bogus (see `slsgen new --help`)"),
        (["new", "hello-world", ""], "the project name is empty"),
        (
            ["bogus"],
            "No such command 'bogus'; the commands are list, show, new, add, update, invoke, start-api, package, "
            "validate, event, deploy-role, blueprint, config, cache.",
        ),
        (["bogus"], "(see `slsgen --help`)"),
        (["nw"], "No such command 'nw'. Did you mean 'new'? (see `slsgen --help`)"),
        (["show", "./missing"], "blueprint folder ./missing not found: check the path"),
        (["show", "~/missing"], "blueprint folder ~/missing not found"),
    ],
)
def test_bad_input_gets_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    result = run([*SLSGEN, *args, "--no-input"] if args[0] == "new" else [*SLSGEN, *args], tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_target_needs_force(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "keep.txt").write_text("mine")
    result = run([*SLSGEN, "new", "hello-world", "api", "--no-input"], tmp_path, check=False)
    assert result.returncode == 2
    assert "exists and is not empty" in result.stderr
    assert "--force" in result.stderr
    slsgen("new", "hello-world", "api", "--no-input", "--force", cwd=tmp_path)
    assert (tmp_path / "api" / "keep.txt").read_text() == "mine"
    assert (tmp_path / "api" / "template.yaml").is_file()


def test_new_prints_the_tree_and_next_steps(tmp_path):
    out = slsgen(
        "new",
        "hello-world",
        "my-api",
        "--no-input",
        "--runtime",
        "python3.12",
        "--arch",
        "x86_64",
        "--memory",
        "256",
        "--set",
        "greeting=Hi",
        "-o",
        "out",
        cwd=tmp_path,
    ).stdout
    assert "lambda_function.py" in out
    assert "template.yaml" in out
    for step in ("make install", "make test", "make invoke", "make deploy"):
        assert step in out
    assert "the function's dependencies and the test tools" in out  # what `make install` installs
    record = json.loads((tmp_path / "out" / "my-api" / ".slsgen.json").read_text())
    assert record["answers"]["runtime"] == "python3.12"
    assert record["answers"]["architecture"] == "x86_64"
    assert record["answers"]["memory"] == 256
    assert record["answers"]["greeting"] == "Hi"


def test_prompts_in_a_terminal_use_defaults_and_retry_bad_answers(tmp_path):
    """Drive the interactive prompts through a pseudo-terminal, as a user at a keyboard would."""
    child = pexpect.spawn(
        SLSGEN[0],
        [*SLSGEN[1:], "new", "hello-world"],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"},
    )
    child.expect("Project name")
    child.sendline("prompted-api")
    child.expect("runtime")
    child.sendline("")  # default
    child.expect("architecture")
    child.sendline("x86_64")
    child.expect("memory")
    child.sendline("64")  # refused, asked again
    child.expect("memory must be between 128 and 10240 MB")
    child.sendline("512")
    child.expect("timeout")
    child.sendline("")
    child.expect("trigger")
    child.sendline("")
    child.expect("greeting")
    child.sendline("Hey")
    child.expect("powertools")
    child.sendline("")  # no: the function stays dependency-free
    child.expect("Next steps")
    child.expect(pexpect.EOF)
    record = json.loads((tmp_path / "prompted-api" / ".slsgen.json").read_text())
    assert record["answers"]["architecture"] == "x86_64"
    assert record["answers"]["memory"] == 512
    assert record["answers"]["greeting"] == "Hey"
    assert record["answers"]["runtime"] == "python3.13"


def as_unprivileged(command: list[str]) -> list[str]:
    """Run `command` so that folder permissions bind it: tests may run as root, who passes them unless the
    capabilities that override them are dropped."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]


def one_line_error(result, message: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def tree(folder):
    return {
        path.relative_to(folder).as_posix(): os.readlink(path)
        if path.is_symlink()
        else path.is_dir() or path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


@pytest.mark.parametrize(
    ("prepare", "args", "message"),
    [
        (lambda d: (d / "afile").write_text("x"), ["x", "-o", "afile"], "output folder afile is a file, not a folder"),
        (lambda d: None, ["x", "-o", "/proc"], "cannot write into /proc"),
        (lambda d: (d / "api").symlink_to(d / "gone"), ["api"], "is a symbolic link to"),
        (lambda d: (d / "api").mkdir() or (d / "api" / "src").write_text("x"), ["api", "--force"], "src is a file"),
        (lambda d: (d / "api" / "Makefile").mkdir(parents=True), ["api", "--force"], "Makefile is a folder where"),
    ],
)
def test_file_system_problems_get_one_line_and_change_nothing(tmp_path, prepare, args, message):
    prepare(tmp_path)
    before = tree(tmp_path)
    result = run([*SLSGEN, "new", "hello-world", *args, "--no-input"], tmp_path, check=False)
    one_line_error(result, message)
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    ("mode", "output", "message"),
    [
        (0o555, "locked", "cannot write into {locked}: Permission denied"),
        (0o000, "locked/deeper", "cannot use locked/deeper: {locked}/deeper: Permission denied"),
    ],
)
def test_a_folder_without_permission_gets_one_line(tmp_path, mode, output, message):
    locked = tmp_path / "locked"
    locked.mkdir(mode=mode)
    command = [*SLSGEN, "new", "hello-world", "x", "--no-input", "-o", output]
    result = run(as_unprivileged(command), tmp_path, check=False)
    one_line_error(result, message.format(locked=locked))
    locked.chmod(0o755)
    assert list(locked.iterdir()) == []


def test_force_failing_midway_leaves_the_folder_as_it_was(tmp_path):
    project = generate(tmp_path, "hello-world", "api")
    (project / "Makefile").write_text("edited")
    (project / "tests").chmod(0o555)  # the placement reaches tests/ after most files are replaced
    before = tree(project)
    result = run(
        as_unprivileged([*SLSGEN, "new", "hello-world", "api", "--no-input", "--force", "--memory", "512"]),
        tmp_path,
        check=False,
    )
    one_line_error(result, "Permission denied")
    assert tree(project) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["api"]


def test_force_lists_the_changed_files_of_the_earlier_generation_it_kept(tmp_path):
    project = generate(tmp_path, "hello-world", "api")
    (project / "tests" / "test_lambda_function.py").write_text("# mine\n")
    out = slsgen("new", "hello-world", "api", "--no-input", "--force", "--handler", "app.main", cwd=tmp_path).stdout
    assert "Removed 1 file of the earlier generation" in out
    assert "src/lambda_function.py" in out
    assert "Kept 1 file of the earlier generation" in out
    assert "tests/test_lambda_function.py" in out
    assert not (project / "src" / "lambda_function.py").exists()


def spawn_new(tmp_path, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        SLSGEN[0],
        [*SLSGEN[1:], "new", "hello-world", *args],
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"},
    )


def test_a_deprecated_runtime_at_the_prompt_says_why_and_asks_again(tmp_path):
    child = spawn_new(tmp_path, "api")
    child.expect("runtime")
    child.sendline("python3.11")
    child.expect("python3.11 was deprecated on 2026-06-30")
    child.expect("runtime")
    child.sendline("python3.12")
    child.expect("architecture")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130


def test_ctrl_c_at_a_prompt_says_nothing_was_written(tmp_path):
    child = spawn_new(tmp_path, "api")
    child.expect(r"\(python3\.13\):")  # the whole prompt is out: slsgen waits in input()
    # A signal that lands just before input()'s read() is only seen once a line comes (or another signal): on a
    # loaded machine the child may not be in read() yet, so press Ctrl-C again, as a user would.
    for _ in range(10):
        time.sleep(0.5)
        child.sendintr()
        if child.expect(["aborted: nothing was written", pexpect.TIMEOUT], timeout=3) == 0:
            break
    else:
        raise AssertionError(f"no answer to Ctrl-C: {child.before!r}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in child.before
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_while_slsgen_starts_ends_without_a_traceback(tmp_path):
    """Ctrl-C lands while modules import: simulated deterministically by an import that is interrupted."""
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['slsgen', 'list']\n"
        "from generator.entry import main\n"
        "main()\n"
    )
    result = run([SLSGEN[0], "-c", code], tmp_path, check=False)
    assert result.returncode == 130
    assert result.stderr.strip() == "aborted: nothing was written"


@pytest.mark.parametrize(
    ("unreadable", "message"),
    [("extra.txt", "rendering the blueprint failed: "), ("blueprint.yaml", "error: ")],
)
def test_an_unreadable_blueprint_file_gets_one_line(tmp_path, unreadable, message):
    blueprint = tmp_path / "team"
    blueprint.mkdir()
    (blueprint / "blueprint.yaml").write_text(
        "name: team\ntitle: t\ndescription: d\nversion: 1.0.0\nextends: hello-world\n"
    )
    (blueprint / "extra.txt").write_text("hi\n")
    (blueprint / unreadable).chmod(0)
    result = run(as_unprivileged([*SLSGEN, "new", "./team", "x", "--no-input", "-o", "out"]), tmp_path, check=False)
    one_line_error(result, message + f"{blueprint / unreadable}")
    assert "Permission denied" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["team"]


# --- help that keeps its examples, and shell completion -------------------------------------------------------------


def help_examples(text: str) -> list[str]:
    """The example lines of a help text or epilog as written in the code: the indented lines after `Example(s):`."""
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if line.strip() in ("Example:", "Examples:")]
    found: list[str] = []
    for start in starts:
        for line in lines[start + 1 :]:
            if not line.strip().startswith("slsgen "):
                break
            found.append(line.strip())
    return found


def test_every_example_of_the_help_keeps_its_own_line(tmp_path):
    """Each command's examples, as its docstring lists them, are lines of its `--help` at 80 columns: Click reflows
    a paragraph (`slsgen --help` once read `... slsgen new hello- world my-api`), so they must be marked `\\b`."""
    import click
    import typer.main

    from generator.cli import app

    def commands(group: click.Command, path: list[str]):
        yield path, group
        for name, command in getattr(group, "commands", {}).items():
            yield from commands(command, [*path, name])

    checked = 0
    for path, command in commands(typer.main.get_command(app), []):
        if command.context_settings.get("help_option_names") == []:
            continue  # a runner command: its --help is the runner's (tests/runner)
        examples = help_examples(f"{command.help or ''}\n{command.epilog or ''}")
        if not examples:
            continue
        out = run([*SLSGEN, *path, "--help"], tmp_path, env={"COLUMNS": "80"}).stdout
        shown = [line.strip() for line in out.splitlines()]
        for example in examples:
            assert example in shown, f"`slsgen {' '.join(path)} --help` reflowed {example!r}:\n{out}"
        checked += 1
    assert checked >= 10  # slsgen itself, new, add, show, list, update, config show, blueprint init/lint, ...
    for path in ([], ["new"], ["add"]):  # the ones the issue found run together
        out = run([*SLSGEN, *path, "--help"], tmp_path, env={"COLUMNS": "80"}).stdout
        assert sum(line.startswith("    slsgen ") for line in out.splitlines()) >= 3, out


def test_show_lists_every_flag_of_new_that_sets_a_runtime_setting(tmp_path):
    """Every option of `slsgen new` is either in `slsgen show`'s list of flags or one about the generation itself."""
    import typer.main

    from generator.cli import app

    out = " ".join(slsgen("show", "hello-world", cwd=tmp_path).stdout.split())
    listed = set(out.split("Set runtime settings with ", 1)[1].split(";", 1)[0].split())
    new = typer.main.get_command(app).commands["new"]  # type: ignore[attr-defined]
    options = {"/".join([*param.opts, *param.secondary_opts]) for param in new.params if param.opts[0].startswith("-")}
    generation = {"--output-dir/-o", "--no-input", "--set", "--git/--no-git", "--force", "--ref", "--directory"}
    generation |= {"--preset", "--trust", "--lock/--no-lock"}
    assert listed == options - generation
    assert {"--ci", "--ephemeral-storage", "--reserved-concurrency", "--log-level", "--alarms/--no-alarms"} <= listed
    assert out.endswith("the rest with --set KEY=VALUE.")


def completions(words: list[str], shell: str = "bash") -> list[str]:
    """What slsgen offers for the last of `words` (`""`: a new word), asked as the script `slsgen
    --install-completion` installs asks it: bash hands over COMP_WORDS/COMP_CWORD, zsh the typed line."""
    script = run([*SLSGEN], ".", env={"_SLSGEN_COMPLETE": f"source_{shell}"}).stdout
    instruction = f"complete_{shell}"
    assert f"_SLSGEN_COMPLETE={instruction}" in script  # the instruction the installed script sends
    if shell == "bash":
        env = {"COMP_WORDS": "\n".join(["slsgen", *words]), "COMP_CWORD": str(len(words))}  # IFS=$'\n' joins them
        out = run([*SLSGEN], ".", env={**env, "_SLSGEN_COMPLETE": instruction}).stdout
        return [line for line in out.splitlines() if line]  # COMPREPLY splits on newlines: no empty entry
    env = {"_TYPER_COMPLETE_ARGS": " ".join(["slsgen", *words]), "_SLSGEN_COMPLETE": instruction}
    out = run([*SLSGEN], ".", env=env).stdout  # _arguments '*: :(("a"\n"b"))'
    return re.findall(r'"((?:[^"\\]|\\.)*)"', out)


@pytest.mark.parametrize("command", [["new"], ["add", "data-processing", "worker"]])
def test_completion_offers_the_values_each_option_is_checked_against(command):
    from generator import settings

    for option, values in (
        ("--runtime", settings.RUNTIMES),
        ("--arch", settings.ARCHITECTURES),
        ("--log-format", settings.LOG_FORMATS),
        ("--log-level", settings.LOG_LEVELS),
    ):
        assert completions([*command, option, ""]) == list(values), option
    assert completions([*command, "--runtime", "python3.1"]) == [v for v in settings.RUNTIMES if "3.1" in v]
    assert completions([*command, "--arch", "x"]) == ["x86_64"]
    if command == ["new"]:
        assert completions(["new", "--ci", ""]) == list(settings.CI_SYSTEMS)


@pytest.mark.parametrize(
    ("words", "blueprint"),
    [
        (["new", "--set", ""], "hello-world"),  # no blueprint yet: the default one's
        (["new", "image-resize", "thumbs", "--set", ""], "image-resize"),
        (["new", "--no-input", "-o", "out", "data-processing", "--set", ""], "data-processing"),
        (["add", "data-processing", "worker", "--set", ""], "data-processing"),
        (["add", "-C", "my-api", "alexa-skill", "skill", "--memory", "256", "--set", ""], "alexa-skill"),
    ],
)
def test_completion_of_set_offers_the_question_names_of_the_blueprint_on_the_line(words, blueprint):
    questions = [f"{question.name}=" for question in generator.load_blueprint(blueprint).questions]
    assert questions
    assert completions(words) == questions
    assert completions(words, shell="zsh") == questions


def test_completion_of_set_offers_a_question_values_after_its_name():
    choices = generator.load_blueprint("data-processing").question("trigger").choices
    assert completions(["new", "data-processing", "x", "--set", "trigger="], shell="zsh") == [
        f"trigger={choice}" for choice in choices
    ]
    assert completions(["add", "data-processing", "x", "--set", "tr"]) == ["trigger="]
    assert completions(["new", "./no-such-blueprint", "x", "--set", ""]) == []  # nothing to read: nothing offered
