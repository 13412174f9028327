"""The trust boundary: what a blueprint may do to the machine that renders it.

Only the built-in blueprints are trusted by default. A blueprint from anywhere else (a folder, a git repository)
is data: it may not run code at generation (its manifest's `checks:`, a cookiecutter template's hooks and Jinja
`_extensions`) unless the user passes `--trust` or lists its source under `trusted` in the config file; without
that, generation stops before anything is rendered, naming what would have run. Whatever its trust, no blueprint
may write outside the project folder (a templated path with `..`, an absolute path, a link pointing out) or
write a file name that Windows, macOS or Linux cannot hold, and all Jinja is rendered in a sandbox
(`SandboxedStrictEnvironment`), also when cookiecutter renders, since cookiecutter's own environment is not one.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import settings, userconfig
from .confine import released
from .errors import UnsafePath, Untrusted

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

    from .blueprints import Blueprint

WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}
INVALID_CHARACTERS = re.compile(r'[:*?"<>|\\\x00-\x1f\x7f]')
HOOK_NAMES = ("pre_prompt", "pre_gen_project", "post_gen_project")


DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}


def canonical(source: str) -> str:
    """A source as compared with the config's `trusted` entries: one spelling for one repository or folder.

    Folders and `file://` URLs become resolved paths (`..` and links resolved). Network URLs keep their scheme
    and path, with the host in lower case, `..` and `.` segments resolved, and no credentials, default port,
    `git+` prefix, `.git` suffix or trailing `/`; scp-like `user@host:path` is the ssh URL it stands for. Anything
    that only might be the same (percent-encoding, another scheme for the same host) stays different: the cost
    of a mismatch is a `--trust` to type, not code run.
    """
    from urllib.parse import urlsplit

    from .sources import is_git, split_reference

    url = split_reference(source)[0]
    if not is_git(url):
        return str(Path(url).expanduser().resolve())
    plain = url.removeprefix("git+")
    if plain.startswith("file://"):
        return "file://" + str(Path(urlsplit(plain).path or "/").resolve())
    scp = re.fullmatch(r"[\w.-]+@([\w.-]+):(?!//)(.*)", plain)
    if scp is not None:
        plain = f"ssh://{scp[1]}/{scp[2].lstrip('/')}"
    parts = urlsplit(plain)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    path = posixpath.normpath("/" + parts.path.lstrip("/")).rstrip("/").removesuffix(".git")
    return f"{parts.scheme}://{host}{path}"


def is_trusted(source: str, trusted: Sequence[str]) -> bool:
    """Built-ins are; another source is when a `trusted` entry is the same URL (`canonical`), or the same folder or
    one above it (by whole path components, for folders and `file://` repositories)."""
    if source.startswith("builtin:"):
        return True
    mine = canonical(source)
    return any(mine == canonical(entry) or _below(mine, canonical(entry)) for entry in trusted)


def _below(mine: str, theirs: str) -> bool:
    """Whether canonical `mine` is a folder (or `file://` repository) under the canonical folder `theirs`."""
    if mine.startswith("file://") and theirs.startswith("file://"):
        mine, theirs = mine.removeprefix("file://"), theirs.removeprefix("file://")
    elif "://" in mine or "://" in theirs:
        return False
    return Path(mine).is_relative_to(theirs)


def require(name: str, sources: Sequence[str], code: Sequence[str], trust: bool) -> None:
    """Refuse, before anything is written, to run `code` from an untrusted source unless `trust` is given."""
    if trust or not code:
        return
    config = userconfig.load()
    untrusted = [source for source in sources if not is_trusted(source, config.trusted)]
    if not untrusted:
        return
    raise Untrusted(
        f"blueprint {name} from {untrusted[-1]} is not trusted and would run code at generation: {'; '.join(code)}. "
        f"Nothing was written; read that code, then pass --trust, or add the source under `trusted` in "
        f"{config.path}"
    )


def blueprint_code(blueprint: Blueprint) -> list[str]:
    """What an slsgen blueprint would run at generation: its manifest's checks (Python scripts)."""
    return [f"check script {check.run}" for check in blueprint.checks]


def cookiecutter_code(template: Path) -> list[str]:
    """What a cookiecutter template would run: its hooks and the Jinja extensions its cookiecutter.json loads."""
    hooks = template / "hooks"
    code = [
        f"hook hooks/{path.name}"
        for path in sorted(hooks.iterdir() if hooks.is_dir() else [])
        if path.is_file() and path.stem in HOOK_NAMES and not path.name.endswith("~")
    ]
    try:
        extensions = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8")).get("_extensions", [])
    except (OSError, ValueError, AttributeError):
        extensions = []
    return code + [f"Jinja extension {extension}" for extension in extensions]


def name_problem(relative: str) -> str | None:
    """Why a rendered path (relative, `/`-separated) cannot be written safely on every common file system."""
    if relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[/\\]", relative):
        return "is (or holds) an absolute path"  # `a:b` is not one: its ':' is refused below, by name
    for part in relative.split("/"):
        if part in ("", ".", ".."):
            return "leaves the project folder" if part == ".." else "has an empty folder name"
        if part in settings.VCS_NAMES:
            return f"is version-control metadata ({part}), never blueprint content"
        if part.split(".")[0].upper().rstrip(" ") in WINDOWS_RESERVED:
            return f"uses {part!r}, a name Windows reserves"
        bad = INVALID_CHARACTERS.search(part)
        if bad:
            return f"has the character {bad.group(0)!r}, invalid on Windows (or a control character)"
        if part.endswith((".", " ")):
            return "ends a name with a dot or a space, which Windows drops"
    return None


def check_path(relative: str, blueprint: str) -> None:
    problem = name_problem(relative)
    if problem is not None:
        raise UnsafePath(f"blueprint {blueprint}: the path {relative!r} {problem}; refused, nothing was written")


def check_links(folder: Path, blueprint: str) -> None:
    """Refuse a symbolic link in a blueprint's folder that points outside it (its content would be copied in)."""
    _check_links_in(folder, blueprint, "blueprint")


def check_tree(project: Path, blueprint: str) -> None:
    """Check every rendered path before it is placed: valid names, and links that stay inside the project."""
    for current, dirs, files in os.walk(project):
        for entry in [*dirs, *files]:
            check_path((Path(current) / entry).relative_to(project).as_posix(), blueprint)
    _check_links_in(project, blueprint, "project")


def _check_links_in(folder: Path, blueprint: str, what: str) -> None:
    """Refuse a link in `folder` whose target is outside it, naming the link that leaves, not one that only
    points at it (a virtual environment's `python3 -> python` leads out through `python -> /usr/bin/python3`)."""
    root = folder.resolve()
    for current, dirs, files in os.walk(folder):
        for entry in [*dirs, *files]:
            path = Path(current) / entry
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                link = leaving_link(path, root)
                relative = link.relative_to(folder).as_posix() if link.is_relative_to(folder) else str(link)
                fix = "copy the file in instead" if what == "blueprint" else "make it after generation instead"
                raise UnsafePath(
                    f"blueprint {blueprint}: {relative} is a link to {os.readlink(link)}, outside the {what} ({fix}); "
                    "refused, nothing was written"
                )


def check_layer(folder: Path, blueprint: str) -> None:
    """A blueprint's folder (or a cookiecutter template's) before anything is copied from it: no link pointing
    outside it, and every git submodule it declares checked out (its files are then content like any other),
    never silently missing. Version-control metadata itself is never copied (`settings.VCS_NAMES`)."""
    check_links(folder, blueprint)
    for path in submodule_paths(folder):
        where = folder / path
        present = where.is_dir() and any(child.name not in settings.VCS_NAMES for child in where.iterdir())
        if name_problem(path) is not None or not present:
            raise UnsafePath(
                f"blueprint {blueprint}: the git submodule {path} (.gitmodules) is not checked out, and slsgen does "
                "not fetch submodules: copy its files into the blueprint instead; nothing was written"
            )


def submodule_paths(folder: Path) -> list[str]:
    """The `path = ...` entries of a folder's `.gitmodules`."""
    try:
        text = (folder / ".gitmodules").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [match.strip() for match in re.findall(r"^\s*path\s*=\s*(.+?)\s*$", text, re.MULTILINE)]


def leaving_link(path: Path, root: Path) -> Path:
    """The link of `path`'s chain (itself, then the links it points at) whose own target lies outside `root`."""
    seen = set()
    current = path
    while current.is_symlink() and current not in seen:
        seen.add(current)
        target = current.parent.resolve() / os.readlink(current)
        if not Path(os.path.normpath(target)).is_relative_to(root):
            return current
        current = Path(os.path.normpath(target))
    return path


def check_template_paths(template: Path, context: Mapping[str, Any], blueprint: str) -> None:
    """Render every path of a cookiecutter template (its `{{cookiecutter.x}}` folder) before cookiecutter writes
    anything, with the environment cookiecutter renders them in (its delimiters included): a path that renders to
    `..` or an absolute path is refused with its name. This gives the early, precise message; the writes
    themselves are checked when they happen (`confine`).

    Each name is rendered on its own too, to say which answer broke it: a name that renders to an absolute path,
    or a file (or the project folder) whose name would hold a `/` (a folder's may: cookiecutter nests it). A file
    name that renders empty is skipped, as cookiecutter skips it.
    """
    env = cookiecutter_environment({"cookiecutter": dict(context)})
    starts = (env.variable_start_string, env.block_start_string, env.comment_start_string)
    for current, dirs, files in os.walk(template):
        for entry in [*dirs, *files]:
            relative = (Path(current) / entry).relative_to(template.parent).as_posix()
            if not any(start in relative for start in starts):  # no delimiter: the name renders to itself
                check_path(relative, blueprint)
                continue
            try:
                whole = env.from_string(relative).render(cookiecutter=dict(context)).replace("\\", "/")
            except Exception:  # noqa: S112 - cookiecutter reports template errors itself, with its context
                continue
            if entry in files and whole.endswith("/"):
                continue
            try:
                parts = [env.from_string(part).render(cookiecutter=dict(context)) for part in relative.split("/")]
            except Exception:  # a block across names (`{% if %}a/b{% endif %}`): only the whole path is checked
                parts = []
            for index, (part, rendered) in enumerate(zip(relative.split("/"), parts, strict=False)):
                if rendered == part:
                    continue
                if (name_problem(rendered.replace("\\", "/")) or "").startswith("is (or holds) an absolute"):
                    why = "is (or holds) an absolute path"
                elif "/" in rendered and (index == 0 or (entry in files and index == len(parts) - 1)):
                    why = "names a file (or the project folder) with a '/' in it"
                else:
                    continue
                raise UnsafePath(
                    f"blueprint {blueprint}: the path {whole!r} {why}: {part!r} renders as {rendered!r}; give an "
                    "answer without '/'; refused, nothing was written"
                )
            check_path(whole, blueprint)


def sandboxed_environment(context: dict[str, Any] | None = None, **options: Any) -> SandboxedEnvironment:
    """A sandboxed Jinja environment with cookiecutter's strict undefined and extensions (its `_extensions` too)."""
    environment: SandboxedEnvironment = _sandboxed_class()(context=context or {}, **options)
    return environment


@functools.cache
def _sandboxed_class() -> type[SandboxedEnvironment]:
    from cookiecutter.environment import ExtensionLoaderMixin
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class SandboxedStrictEnvironment(ExtensionLoaderMixin, ImmutableSandboxedEnvironment):  # type: ignore[misc]
        """cookiecutter's StrictEnvironment, sandboxed: templates cannot reach Python objects' internals, nor
        change the answers a later template or file name renders with (`cookiecutter.update(...)` is refused)."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(undefined=StrictUndefined, **kwargs)

    return SandboxedStrictEnvironment


def cookiecutter_environment(context: dict[str, Any]) -> SandboxedEnvironment:
    """The environment cookiecutter would build for `context` (its `_jinja2_env_vars`: delimiters and the like),
    sandboxed."""
    envvars = context.get("cookiecutter", {}).get("_jinja2_env_vars", {})
    return sandboxed_environment(context, keep_trailing_newline=True, **envvars)


@contextlib.contextmanager
def sandboxed_cookiecutter() -> Iterator[None]:
    """Make cookiecutter render in `sandboxed_environment` while the block runs (its generate, prompt and hook
    modules each build their environment through `create_env_with_context`, or `StrictEnvironment` before 2.7),
    and run a trusted template's hooks outside the write confinement (`confine.released`)."""
    import importlib

    def strict(**kwargs: Any) -> SandboxedEnvironment:
        return sandboxed_environment(kwargs.pop("context", None), **kwargs)

    generate = importlib.import_module("cookiecutter.generate")
    run_hook = generate.run_hook_from_repo_dir

    def unconfined_hook(*args: Any, **kwargs: Any) -> Any:
        with released():
            return run_hook(*args, **kwargs)

    replacements = (
        ("create_env_with_context", cookiecutter_environment),
        ("StrictEnvironment", strict),
        ("run_hook_from_repo_dir", unconfined_hook),
    )
    saved: list[tuple[Any, str, Any]] = []
    for name in ("cookiecutter.generate", "cookiecutter.prompt", "cookiecutter.hooks", "cookiecutter.utils"):
        module = importlib.import_module(name)
        for attribute, replacement in replacements:
            if hasattr(module, attribute) and (module is generate or attribute != "run_hook_from_repo_dir"):
                saved.append((module, attribute, getattr(module, attribute)))
                setattr(module, attribute, replacement)
    try:
        yield
    finally:
        for module, attribute, original in reversed(saved):
            setattr(module, attribute, original)
