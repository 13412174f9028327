"""What a README tells its reader to run, run as the reader would: every command of its shell blocks, in order.

A command is a line of a ```bash block (continuation lines joined; lines that are only comments are prose). A
command whose trailing comment starts with a mark is not run as written, and the mark is checked instead, so that
a mark cannot hide a broken command:

- `# needs AWS`: it runs with no AWS credentials, with an `aws` that is the real AWS CLI (it parses the whole
  command line, reads the files it names, then stops at the missing credentials) and a `sam` and an `ask` that
  check what they can offline and stop where AWS would answer. The command must reach one of them that way, and
  every `aws` call in it must get as far as asking for credentials: a typo in a service, an operation, an option
  or a file fails the test.
- `# needs a terminal`: a server that runs until Ctrl-C, and the commands that talk to it "from a second
  terminal". A run of such lines is one terminal session, in a network namespace of its own where the machine
  has them (so that port 3000 is free whatever else runs here): the server must still be running after a few
  seconds, each client line must succeed while it runs and fail once it is stopped (so it needed the server),
  and Ctrl-C (SIGINT to its process group) must stop the server within seconds and without a traceback.

Every other command must exit 0 within its time limit; its output is in the failure. A reader's shell keeps its
working folder from line to line (`cd my-api && ...`). What was not run as written is returned, line by line, for
the test to report (conftest prints it in the session's summary).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

AWS_MARK = "needs AWS"
TERMINAL_MARK = "needs a terminal"
MARKS = (AWS_MARK, TERMINAL_MARK)
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
# The AWS CLI the `# needs AWS` lines are parsed by, in an environment of its own (uv's cache), as checkov is run.
AWSCLI = "awscli==1.46.2"
NO_CREDENTIALS = "Unable to locate credentials"
STAND_IN = "readme-test-stand-in"  # the output of a call that stopped at the credentials
COMMAND_TIMEOUT = 900  # s: a first `make install` or `make validate` on a cold cache downloads from PyPI
SERVER_START = 5.0  # s a server must keep running to count as one; clients retry for CLIENT_WAIT while it starts
CLIENT_WAIT = 30.0
CTRL_C_WAIT = 15.0


@dataclass(frozen=True)
class Command:
    text: str  # what the shell runs: continuation lines joined, the trailing comment removed
    mark: str | None  # AWS_MARK, TERMINAL_MARK or None
    comment: str
    section: str
    line: int

    def __str__(self) -> str:
        return f"line {self.line} ({self.section}): {self.text}"


# --- reading a README -------------------------------------------------------------------------------------------


def split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of a shell line: a `#` that starts a word outside quotes starts the comment."""
    quote: list[str] = []  # the open quotes, innermost last; `$(` opens a fresh context inside double quotes
    index = 0
    while index < len(line):
        char = line[index]
        inside = quote[-1] if quote else ""
        if inside == "'":
            if char == "'":
                quote.pop()
        elif char == "\\":
            index += 1
        elif line.startswith("$(", index):
            quote.append("(")
            index += 1
        elif char == ")" and inside == "(":
            quote.pop()
        elif char == '"':
            if inside == '"':
                quote.pop()
            else:
                quote.append('"')
        elif char == "'" and inside != '"':
            quote.append("'")
        elif char == "#" and inside != '"' and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1 :].strip()
        index += 1
    return line.rstrip(), ""


def shell_commands(markdown: str, sections: tuple[str, ...] | None = None) -> list[Command]:
    """Every command of the shell blocks, in document order (only under the `##`/`###` headings named, if given)."""
    found: list[Command] = []
    section = ""
    fence: str | None = None
    language = ""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(markdown.splitlines(), start=1):
        stripped = raw.strip()
        if fence is None:
            opening = re.match(r"(`{3,}|~{3,})\s*([\w-]*)", stripped)
            if opening:
                fence, language = opening.group(1), opening.group(2).lower()
            elif re.match(r"#{1,6} ", raw):
                section = raw.lstrip("#").strip()
            continue
        if stripped.startswith(fence):
            fence = None
            continue
        if language not in SHELL_LANGUAGES or (sections is not None and section not in sections):
            continue
        if not pending:
            if not stripped or stripped.startswith("#"):
                continue
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].rstrip())
            continue
        pending.append(stripped)
        code, comment = split_comment(" ".join(pending))
        pending = []
        mark = next((mark for mark in MARKS if comment == mark or comment.startswith((f"{mark}:", f"{mark} "))), None)
        found.append(Command(code, mark, comment, section, start))
    return found


# --- the tools a `# needs AWS` line reaches ------------------------------------------------------------------------


def aws_tools(folder: Path, cache: Path) -> Path:
    """`aws`, `sam` and `ask` in `folder` (put it first on PATH), each this module's `tool_main` with its name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("aws", "sam", "ask"):
        script = folder / name
        script.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            f"from readme_commands import tool_main\nsys.exit(tool_main({name!r}, sys.argv[1:], {str(cache)!r}))\n"
        )
        script.chmod(0o755)
    return folder


def no_aws_credentials(env: dict[str, str]) -> dict[str, str]:
    """`env` without any way to AWS: no keys, no profile, no config files, no instance metadata."""
    clean = {key: value for key, value in env.items() if not key.startswith("AWS_")}
    return {
        **clean,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def tool_main(name: str, argv: list[str], cache: str) -> int:
    """One call of a README's AWS tool: do what can be done offline, record it (README_TOOL_LOG), exit as AWS
    would leave it (non-zero: there are no credentials)."""
    if name == "aws":
        code, reached, message = run_aws(argv, Path(cache))
    elif name == "sam":
        code, reached, message = fake_sam(argv)
    else:  # the ASK CLI: every command talks to Amazon's developer services
        code, reached, message = 1, True, "ask needs an Amazon developer account (ask configure)"
    log = os.environ.get("README_TOOL_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"tool": name, "argv": argv, "reached": reached, "message": message}) + "\n")
    print(message, file=sys.stderr)
    if reached:  # what a `$(aws ... --output text)` around it reads: a word, so the command using it is checked too
        print(STAND_IN)
    return code


def run_aws(argv: list[str], cache: Path) -> tuple[int, bool, str]:
    """The real AWS CLI without credentials; a call already made with the same arguments (and the same files
    present) is answered from the session's cache (each takes a second and a half)."""
    argv = v1_arguments(argv)
    files = {arg: Path(arg).exists() for arg in argv if "/" in arg and not arg.startswith(("s3:", "http", "arn:"))}
    key = hashlib.sha256(json.dumps([argv, files]).encode()).hexdigest()[:16]
    cached = cache / f"aws-{key}.json"
    if cached.is_file():
        code, output = json.loads(cached.read_text(encoding="utf-8"))
    else:
        uv = shutil.which("uv") or "uv"
        env = no_aws_credentials(dict(os.environ))
        result = subprocess.run(
            [uv, "tool", "run", "--quiet", "--from", AWSCLI, "aws", *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        code, output = result.returncode, (result.stdout + result.stderr).strip()
        cache.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}")
        temporary.write_text(json.dumps([code, output]), encoding="utf-8")
        temporary.replace(cached)
    reached = NO_CREDENTIALS in output
    return (code or 1), reached, output if not reached else f"aws: {NO_CREDENTIALS} (the command line is valid)"


# AWS CLI v2's global options that v1 (the one PyPI has) lacks, with whether each takes a value. v1 already passes
# blobs raw, which is what `--cli-binary-format raw-in-base64-out` asks of v2: dropping them keeps the meaning.
V2_ONLY_OPTIONS = {"--cli-binary-format": True, "--no-cli-pager": False, "--no-cli-auto-prompt": False}


def v1_arguments(argv: list[str]) -> list[str]:
    """`argv` for AWS CLI v1: without the global options only v2 has (a README is written for v2)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        name = arg.split("=", 1)[0]
        if skip:
            skip = False
        elif name in V2_ONLY_OPTIONS:
            skip = V2_ONLY_OPTIONS[name] and "=" not in arg
        else:
            kept.append(arg)
    return kept


def fake_sam(argv: list[str]) -> tuple[int, bool, str]:
    """The SAM CLI: `build` needs no AWS and is not run here (`make package` builds the same zip); `deploy` checks
    its samconfig.toml environment and template, then stops where it would call CloudFormation; the other
    commands that talk to AWS stop at once."""
    command = argv[0] if argv else ""
    if command == "build":
        return 0, False, "sam build: not run by the README test (sam's own build; `make package` builds the zip)"
    if command == "deploy":
        return sam_deploy(argv[1:])
    if command in {"logs", "sync", "delete", "remote", "traces", "list", "pipeline"}:
        return 1, True, f"sam {command}: needs AWS credentials"
    return 2, False, f"sam {command}: the README test's sam does not know this command; teach tests/readme_commands.py"


def sam_deploy(argv: list[str]) -> tuple[int, bool, str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    options = dict(itertools.pairwise(argv))  # each option with the word after it
    environment = options.get("--config-env", "default")
    config_file = Path(options.get("--config-file", "samconfig.toml"))
    if not config_file.is_file():
        return 2, False, f"sam deploy: {config_file} not found"
    config = tomllib.loads(config_file.read_text(encoding="utf-8"))
    parameters = config.get(environment, {}).get("deploy", {}).get("parameters")
    if parameters is None and "--guided" not in argv:
        return 2, False, f"sam deploy: {config_file} has no [{environment}.deploy.parameters]"
    template = options.get("--template-file", options.get("-t", (parameters or {}).get("template_file")))
    if template and not Path(template).is_file():
        return 2, False, f"sam deploy: template {template} not found (run what the README runs before it)"
    return 1, True, f"sam deploy (config env {environment}): needs AWS credentials"


# --- running them ---------------------------------------------------------------------------------------------------


@dataclass
class Reader:
    """One reader's shell: commands run in order in `cwd` (kept from line to line) with `env`.

    `ledger` holds what already passed in this project (the project's CI commands, run just before): a command
    recorded there for the same files (`tree_state`) is not run twice, and says so. `before_make`, if given, is
    called with the folder a command runs `make` in (its leading `cd DIR &&` followed) before it runs: the test
    links the session's virtual environment there as the project's `.venv`, instead of one more `make install`."""

    cwd: Path
    env: dict[str, str]
    tools: Path
    ledger: dict[tuple[str, str], str] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)
    before_make: Callable[[Path], None] | None = None

    def run_all(self, commands: list[Command]) -> list[str]:
        index = 0
        while index < len(commands):
            command = commands[index]
            if command.mark == TERMINAL_MARK:
                group = [command]
                while index + len(group) < len(commands) and commands[index + len(group)].mark == TERMINAL_MARK:
                    group.append(commands[index + len(group)])
                self.terminal_session(group)
                index += len(group)
                continue
            if command.mark == AWS_MARK:
                self.needs_aws(command)
            else:
                self.run(command)
            index += 1
        return self.report

    def shell(self, command: Command, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT):
        """bash running the line in the reader's folder; afterwards the folder it ended in is the reader's."""
        with tempfile.NamedTemporaryFile("r", suffix=".cwd") as where:
            script = f'{command.text}\n__status=$?\npwd > "{where.name}"\nexit $__status\n'
            try:
                result = subprocess.run(
                    ["bash", "-c", script],
                    cwd=self.cwd,
                    env=env or self.env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired as exc:
                raise AssertionError(
                    f"{command}\nstill running after {timeout:.0f} s: a server (mark it `# {TERMINAL_MARK}`) or "
                    f"stuck\n--- output\n{output_of(exc)}"
                ) from None
            folder = where.read().strip()
        if folder:
            self.cwd = Path(folder)
        return result

    def run(self, command: Command) -> None:
        earlier = self.ledger.get((command.text, tree_state(self.cwd)))
        if earlier:
            self.report.append(f"{command}: passed already, on the same files ({earlier})")
            return
        if self.before_make is not None and re.search(r"(^|&& *)make ", command.text):
            into = re.match(r"cd +(\S+) *&&", command.text)
            self.before_make(self.cwd / into.group(1) if into else self.cwd)
        result = self.shell(command)
        if result.returncode != 0:
            raise AssertionError(
                f"{command}\nexited {result.returncode} in {self.cwd}\n--- stdout\n{result.stdout}\n--- stderr\n"
                f"{result.stderr}"
            )

    def needs_aws(self, command: Command) -> None:
        with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as log:
            env = no_aws_credentials({**self.env, "README_TOOL_LOG": log.name})
            env["PATH"] = f"{self.tools}{os.pathsep}{env['PATH']}"
            result = self.shell(command, env)
            calls = [json.loads(line) for line in log.read().splitlines()]
        output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        if not any(call["reached"] for call in calls):
            raise AssertionError(
                f"{command}\nis marked `# {AWS_MARK}` but reached no AWS tool that needs it:\n{output}"
            )
        broken = [call for call in calls if not call["reached"] and call["tool"] == "aws"]
        if broken:
            raise AssertionError(f"{command}\nan aws call is not valid: {broken[0]['message']}\n{output}")
        reached = ", ".join(f"`{call['tool']} {' '.join(call['argv'][:2])}`" for call in calls if call["reached"])
        self.report.append(f"{command}: not run (`# {AWS_MARK}`): it reached {reached}, its command line accepted")

    def terminal_session(self, group: list[Command]) -> None:
        """The first line is the server, the others its clients (a second terminal), then Ctrl-C."""
        server_command, clients = group[0], group[1:]
        with network_namespace() as enter, tempfile.TemporaryFile("w+") as log:
            server = subprocess.Popen(
                [*enter, "bash", "-c", server_command.text],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, as a terminal's foreground job
            )

            def server_output() -> str:
                log.seek(0)
                return log.read()

            try:
                for client in clients:
                    self.client(client, enter, server, server_output)
                if not clients:
                    time.sleep(SERVER_START)
                if server.poll() is not None:
                    raise AssertionError(
                        f"{server_command}\nis marked `# {TERMINAL_MARK}` but ended (exit {server.returncode}): "
                        f"no server runs until Ctrl-C:\n{server_output()}"
                    )
                os.killpg(server.pid, signal.SIGINT)  # Ctrl-C
                server.wait(timeout=CTRL_C_WAIT)
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    f"{server_command}\ndid not stop within {CTRL_C_WAIT:.0f} s of Ctrl-C:\n{server_output()}"
                ) from None
            finally:
                if server.poll() is None:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()
            stopped = server_output()
            assert "Traceback" not in stopped, f"{server_command}\nCtrl-C printed a traceback:\n{stopped}"
            self.report.append(f"{server_command}: not run to its end (`# {TERMINAL_MARK}`): served until Ctrl-C")
            for client in clients:  # without the server, the second terminal's command must fail: it needed it
                alone = subprocess.run(
                    [*enter, "bash", "-c", client.text], cwd=self.cwd, env=self.env, capture_output=True, timeout=60
                )
                assert alone.returncode != 0, f"{client}\nsucceeds without the server: it needs no terminal"
                self.report.append(
                    f"{client}: not run alone (`# {TERMINAL_MARK}`): it answered from a second terminal while the "
                    "server ran, and failed once the server was stopped"
                )

    def client(self, command: Command, enter: list[str], server: subprocess.Popen[str], server_output) -> None:
        """A second terminal's command, tried again while the server starts (as a reader waits for it)."""
        deadline = time.monotonic() + CLIENT_WAIT
        while True:
            result = subprocess.run(
                [*enter, "bash", "-c", command.text],
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
            if result.returncode == 0:
                return
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{command}\nexited {result.returncode} from a second terminal\n--- its output\n{result.stdout}"
                    f"{result.stderr}\n--- the server's output\n{server_output()}"
                )
            time.sleep(0.3)


def output_of(exc: subprocess.TimeoutExpired) -> str:
    parts = [part.decode(errors="replace") if isinstance(part, bytes) else part for part in (exc.stdout, exc.stderr)]
    return "\n".join(part for part in parts if part)


@contextmanager
def network_namespace() -> Iterator[list[str]]:
    """The prefix that runs a command in a network namespace of its own, with only a loopback interface: a README's
    server on its fixed port (3000) never meets another test's or another program's. Where the machine makes none
    (no `unshare`, no permission), the commands share the machine's network, one terminal session at a time."""
    holder = None
    if shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip") and os.geteuid() == 0:
        holder = subprocess.Popen(
            ["unshare", "-rn", "sh", "-c", "ip link set lo up && echo up && exec sleep 3600"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if holder.stdout is None or holder.stdout.readline().strip() != "up":
            holder.kill()
            holder.wait()
            holder = None
    if holder is None:
        with open(Path(tempfile.gettempdir()) / "slsgen-readme-terminal.lock", "w") as lock:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
            yield []
        return
    try:
        yield ["nsenter", "-t", str(holder.pid), "-n"]
    finally:
        holder.kill()
        holder.wait()


# --- the files a command sees -------------------------------------------------------------------------------------


def tree_state(folder: Path) -> str:
    """The content of a git work tree as its commands see it: tracked and untracked files, without what git
    ignores (build output, caches, the virtual environment); "" outside a work tree."""
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True)
    if top.returncode != 0:
        return ""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        subprocess.run(["git", "add", "-A", "--", ".", ":(exclude).venv"], cwd=folder, env=env, check=True)
        tree = subprocess.run(["git", "write-tree"], cwd=folder, env=env, capture_output=True, text=True, check=True)
    return tree.stdout.strip()


def record(ledger: dict[tuple[str, str], str], command: str, folder: Path, where: str) -> None:
    """Note that `command` passed in `folder` as it is now; `make a b c` (plain targets) as `make a`, `make b`..."""
    state = tree_state(folder)
    words = command.split()
    if words[:1] == ["make"] and all(re.fullmatch(r"[a-z][a-z-]*", word) for word in words[1:]):
        for target in words[1:]:
            ledger.setdefault((f"make {target}", state), where)
    ledger.setdefault((command.strip(), state), where)
