"""Where a blueprint comes from: a built-in name, a folder, a git repository, or a name on the user's search path.

`resolve` turns what the user typed into a folder on disk and the facts that find the same files again later
(`ResolvedSource.source`, `.ref`, `.directory`, `.commit`, recorded in `.slsgen.json`): `slsgen update` calls it
with the recorded commit as `ref` to get the version a project was generated from.

Git repositories are fetched with the `git` command, shallowly (one commit), into the cache folder
(`userconfig.cache_dir()`), one folder per repository and commit, without `.git`: a commit's files never change,
so a full commit id already in the cache needs no network. A reference may carry its ref and sub-folder in a
fragment, `URL#ref=v2&directory=blueprints/api`, which is how the config file's search path and a manifest's
`extends:` name them; `--ref` and `--directory` do the same on the command line.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl

from . import paths, settings, userconfig
from .errors import BlueprintNotFound, SourceUnavailable

COOKIECUTTER_JSON = "cookiecutter.json"
GIT_PREFIXES = ("git+", "https://", "http://", "ssh://", "git://", "git@", "file://")
FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")
SHORT_COMMIT = re.compile(r"^[0-9a-f]{4,39}$")
FETCH_TIMEOUT_S = 300
# The transports a blueprint may come over (git's own names, for GIT_ALLOW_PROTOCOL); scp-like `user@host:path` is ssh.
PROTOCOLS = ("https", "http", "ssh", "git", "file")
# What a ref may not hold (git check-ref-format's rules, and a leading `-`, which git would read as an option).
BAD_REF = re.compile(r"^-|\.\.|@\{|[\x00-\x20\x7f~^:?*\[\\]|^/|/$|\.lock$|^@$")
# The cache keeps, per repository, the checkouts of the commits used most recently, and none unused for long.
CACHE_COMMITS = 3
CACHE_MAX_AGE_S = 30 * 24 * 3600


@dataclass(frozen=True)
class ResolvedSource:
    """A blueprint folder on disk, and how to find it again.

    `kind` is `slsgen` (a `blueprint.yaml`) or `cookiecutter` (a plain cookiecutter template). `source` is
    `builtin:<name>`, an absolute folder, or the git URL as given (without fragment); `directory` is the
    sub-folder within it, and for git, `commit` is the commit fetched and `ref` what was asked for (None: the
    default branch). `resolve(source, ref=commit, directory=directory)` finds the same files again.
    """

    path: Path
    source: str
    kind: str = "slsgen"
    commit: str | None = None
    ref: str | None = None
    directory: str | None = None

    @property
    def builtin(self) -> bool:
        return self.source.startswith("builtin:")

    @property
    def checkout(self) -> Path | None:
        """A git blueprint's whole checkout (the repository at `commit`); None for any other source."""
        if self.commit is None:
            return None
        root = self.path
        for _ in PurePosixPath(self.directory or "").parts:
            root = root.parent
        return root


def is_git(reference: str) -> bool:
    return reference.startswith(GIT_PREFIXES)


def split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """`URL#ref=R&directory=D` as (URL, R, D); a reference without fragment gives (reference, None, None)."""
    if not is_git(reference) or "#" not in reference:
        return reference, None, None
    url, fragment = reference.split("#", 1)
    fields = dict(parse_qsl(fragment, keep_blank_values=True))
    unknown = set(fields) - {"ref", "directory"}
    if unknown:
        raise BlueprintNotFound(f"{reference}: unknown fragment key {sorted(unknown)[0]!r}; use #ref=...&directory=...")
    return url, fields.get("ref") or None, fields.get("directory") or None


def kind_of(folder: Path) -> str | None:
    if (folder / settings.MANIFEST_NAME).is_file():
        return "slsgen"
    if (folder / COOKIECUTTER_JSON).is_file():
        return "cookiecutter"
    return None


def builtin_names() -> list[str]:
    root = paths.builtin_blueprints_dir()
    return sorted(child.name for child in root.iterdir() if (child / settings.MANIFEST_NAME).is_file())


def resolve(
    reference: str, ref: str | None = None, directory: str | None = None, *, base: Path | None = None
) -> ResolvedSource:
    """Find a blueprint: a built-in name, a git URL (at `ref`, in `directory`), a folder (relative to `base`
    first, when given: a manifest's `extends: ../base`), or a name on the search path."""
    if reference.startswith("builtin:"):  # as recorded in .slsgen.json
        reference = reference.removeprefix("builtin:")
        if (
            not re.fullmatch(r"[a-z][a-z0-9-]*", reference)
            or kind_of(paths.builtin_blueprints_dir() / reference) != "slsgen"
        ):
            raise BlueprintNotFound(f"built-in blueprint {reference!r} no longer ships with this slsgen")
    url, fragment_ref, fragment_directory = split_reference(reference)
    ref, directory = ref or fragment_ref, directory or fragment_directory
    if is_git(url):
        checkout, commit = fetch(url, ref)
        return _inside(checkout, directory, reference, source=url, commit=commit, ref=ref)
    if ref is not None:
        raise BlueprintNotFound(f"--ref applies to git repositories; {reference} is not one (use https://, git@...)")
    builtin = paths.builtin_blueprints_dir() / reference
    if directory is None and re.fullmatch(r"[a-z][a-z0-9-]*", reference) and kind_of(builtin) == "slsgen":
        return ResolvedSource(builtin, f"builtin:{reference}")
    candidates = [base / reference] if base is not None and not Path(reference).is_absolute() else []
    for folder in [*candidates, Path(reference).expanduser()]:
        if folder.is_dir():
            return _inside(folder.resolve(), directory, reference, source=None)
    if "/" in reference or "\\" in reference or reference.startswith((".", "~")):
        raise BlueprintNotFound(
            f"blueprint folder {reference} not found: check the path (`slsgen list` shows the blueprints by name)"
        )
    named = find_named(reference)
    if named is not None:
        return named
    names = builtin_names() + [name for name, _ in configured()]
    close = difflib.get_close_matches(reference, names, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"choose one of: {', '.join(names)}"
    raise BlueprintNotFound(f"unknown blueprint {reference!r}: {hint} (`slsgen list` shows them all)")


def resolve_extends(reference: str, extending: ResolvedSource) -> ResolvedSource:
    """The blueprint a manifest's `extends:` names, from the extending blueprint `extending`.

    A built-in's or a folder blueprint's may name any source, a relative folder first beside its own. A git
    blueprint's stays within what its repository and the user chose: a built-in name, another repository by URL,
    or a folder of the same checkout given relatively (`../base`), which keeps the repository as its source, so
    that its trust and its record are the repository's. A path out of the checkout, an absolute or `~` path, or a
    name from the user's search path would pull the machine's own folders into the project: refused.
    """
    checkout = extending.checkout
    if checkout is None:
        return resolve(reference, base=extending.path)
    if is_git(split_reference(reference)[0]) or (
        re.fullmatch(r"[a-z][a-z0-9-]*", reference) and reference in builtin_names()
    ):
        return resolve(reference)
    relative = PurePosixPath(reference.replace("\\", "/"))
    folder = (extending.path / relative).resolve()
    if reference.startswith("~") or relative.is_absolute() or not folder.is_relative_to(checkout.resolve()):
        raise BlueprintNotFound(
            f"blueprint {extending.source}: extends {reference!r} leaves its repository: a git blueprint extends a "
            "built-in name, another repository's URL, or a folder of its own repository given relatively"
        )
    if not folder.is_dir():
        raise BlueprintNotFound(
            f"blueprint {extending.source}: extends {reference!r}: no such folder in its repository"
        )
    inner = folder.relative_to(checkout.resolve()).as_posix()
    return _inside(
        checkout,
        None if inner == "." else inner,
        reference,
        source=extending.source,
        commit=extending.commit,
        ref=extending.ref,
    )


def _inside(
    root: Path,
    directory: str | None,
    reference: str,
    *,
    source: str | None,
    commit: str | None = None,
    ref: str | None = None,
) -> ResolvedSource:
    """The blueprint folder `directory` of `root` (a checkout or a folder), refusing a way out of it."""
    folder = root
    if directory:
        relative = PurePosixPath(directory.replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts:
            raise BlueprintNotFound(f"--directory {directory} must be a folder inside {reference}, without '..'")
        folder = root / relative
        if not folder.is_dir():
            raise BlueprintNotFound(f"{reference} has no folder {directory}: check --directory")
    kind = kind_of(folder)
    if kind is None:
        raise BlueprintNotFound(
            f"{reference}{'/' + directory if directory else ''} has no {settings.MANIFEST_NAME} (nor a "
            f"{COOKIECUTTER_JSON}): a blueprint folder needs a manifest; with several blueprints, pick one with "
            "--directory"
        )
    return ResolvedSource(folder, source or str(root), kind, commit, ref, directory)


def check_git_arguments(url: str, ref: str | None) -> None:
    """Refuse a URL or ref that git could take as an option (`--upload-pack=...` runs a command) or as a transport
    that runs one (`ext::`): only https, http, ssh, git and file URLs and scp-like `user@host:path`, and refs that
    are valid git ref names or commit ids."""
    plain = url.removeprefix("git+")
    scheme = plain.split("://", 1)[0] if "://" in plain else None
    scp_like = scheme is None and re.fullmatch(r"[\w.-]+@[\w.-]+:[^:].*", plain) is not None
    if plain.startswith("-") or re.search(r"[\x00-\x20\x7f]", plain) or not (scheme in PROTOCOLS or scp_like):
        raise BlueprintNotFound(
            f"{url} is not a git URL slsgen fetches: use https://, ssh://, git://, file:// or user@host:path "
            "(without spaces)"
        )
    if ref is not None and (not ref or BAD_REF.search(ref)):
        raise BlueprintNotFound(f"ref {ref!r} is not a valid git tag, branch or commit name: check --ref")


def git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run git without prompts (a missing credential fails instead of waiting for a password), and only over the
    transports slsgen accepts: git's `ext::` and `fd::` run commands, so a URL can never reach them."""
    environment = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "GIT_ALLOW_PROTOCOL": ":".join(PROTOCOLS),
    }
    environment.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=environment,
            timeout=FETCH_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise SourceUnavailable("git is not installed: install git to use blueprints from repositories") from None
    except subprocess.TimeoutExpired:
        raise SourceUnavailable(f"git {args[0]} did not finish in {FETCH_TIMEOUT_S} s: check the network") from None


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}"


def repository_cache(url: str) -> Path:
    """The cache folder of one repository: a readable prefix and a digest of the URL."""
    plain = url.removeprefix("git+")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", plain.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[:40]
    return userconfig.cache_dir() / f"{stem}-{hashlib.sha256(plain.encode()).hexdigest()[:12]}"


def fetch(url: str, ref: str | None) -> tuple[Path, str]:
    """The files of `url` at `ref` (default branch when None) in the cache, and the commit they are."""
    check_git_arguments(url, ref)
    root = repository_cache(url)
    if ref is not None and FULL_COMMIT.match(ref) and (root / ref).is_dir():
        return used(root / ref), ref
    plain = url.removeprefix("git+")
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    except OSError as exc:
        raise SourceUnavailable(f"cannot write the blueprint cache {root}: {exc.strerror}; set SLSGEN_CACHE") from None
    try:
        repo = work / "git"
        git("init", "--quiet", str(repo))
        commit = _fetch_commit(repo, url, plain, ref)
        final = root / commit
        if not final.is_dir():
            files = work / "files"
            files.mkdir()
            checkout = git("--work-tree", str(files), "checkout", "--quiet", commit, "--", ".", cwd=repo)
            if checkout.returncode != 0:
                raise SourceUnavailable(f"cannot check out {commit[:12]} of {url}: {_last_line(checkout)}")
            try:
                os.replace(files, final)
            except OSError:
                if not final.is_dir():  # another slsgen placed the same commit meanwhile: theirs is as good
                    raise
        prune(root, keep=final)
        return used(final), commit
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fetch_commit(repo: Path, url: str, plain: str, ref: str | None) -> str:
    """Fetch `ref` of `plain` into the empty repository `repo`, one commit deep; return its full commit id.

    An abbreviated commit id names no ref a server can send: the branches' and tags' commits are fetched without
    their trees (`--filter=tree:0`, small even for a large repository), the id is looked up among them, and only
    the files of that one commit come down, when they are checked out.
    """
    result = git("fetch", "--quiet", "--depth", "1", "--no-tags", "--end-of-options", plain, ref or "HEAD", cwd=repo)
    wanted = "FETCH_HEAD"
    if result.returncode != 0 and ref is not None and SHORT_COMMIT.match(ref):
        for config in (
            ("remote.origin.url", plain),
            ("remote.origin.promisor", "true"),
            ("extensions.partialClone", "origin"),
        ):
            git("config", *config, cwd=repo)
        refspecs = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
        result = git("fetch", "--quiet", "--filter=tree:0", "--no-tags", "origin", *refspecs, cwd=repo)
        wanted = ref
    if result.returncode != 0:
        what = f"ref {ref!r} of {url}" if ref else url
        raise SourceUnavailable(f"cannot fetch {what}: {_last_line(result)}; check the URL, the ref and access")
    parsed = git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{wanted}^{{commit}}", cwd=repo)
    if parsed.returncode != 0:
        raise SourceUnavailable(f"{url} has no commit {ref!r}: check --ref")
    return parsed.stdout.strip()


def used(checkout: Path) -> Path:
    """Mark a cached checkout as just used (its modification time), for `prune`."""
    with contextlib.suppress(OSError):
        os.utime(checkout)
    return checkout


def prune(root: Path, keep: Path) -> None:
    """Bound one repository's cache: the `CACHE_COMMITS` checkouts used last, and none unused for a month."""
    try:
        checkouts = [path for path in root.iterdir() if FULL_COMMIT.match(path.name) and path.is_dir()]
        checkouts.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    except OSError:
        return
    now = time.time()
    for index, checkout in enumerate(checkouts):
        with contextlib.suppress(OSError):
            stale = now - checkout.stat().st_mtime > CACHE_MAX_AGE_S
            if checkout != keep and (index >= CACHE_COMMITS or stale):
                shutil.rmtree(checkout, ignore_errors=True)


def clear_cache() -> tuple[Path, int]:
    """Remove every cached repository (`slsgen cache clear`); return the cache folder and the bytes freed."""
    folder = userconfig.cache_dir()
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())
    shutil.rmtree(folder, ignore_errors=True)
    return folder, size


def configured(problems: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """The search path's blueprints (`SLSGEN_BLUEPRINTS`, then the config file's `blueprints`): (name, entry).

    An entry is a blueprint folder or repository, or one whose sub-folders are blueprints; a blueprint's name is
    its folder's name (a repository root's: the repository's). Git entries are fetched when needed. An entry
    that cannot be read is skipped, and added to `problems` as (entry, why) for `slsgen list` to show.
    """
    found: list[tuple[str, str]] = []
    for entry in userconfig.search_path(userconfig.load()):
        url, ref, directory = split_reference(entry)
        try:
            resolved_root = _entry_root(url, ref, directory)
            if not resolved_root.is_dir():
                raise BlueprintNotFound(f"{resolved_root} is not a folder")
        except BlueprintNotFound as exc:
            if problems is not None:
                problems.append((entry, str(exc)))
            continue
        if kind_of(resolved_root) is not None:
            name = resolved_root.name if not is_git(url) or directory else url.rstrip("/").rsplit("/", 1)[-1]
            found.append((name.removesuffix(".git"), entry))
            continue
        for child in sorted(resolved_root.iterdir()):
            if kind_of(child) is not None:
                found.append((child.name, _join(entry, child.name)))
    return found


def _entry_root(url: str, ref: str | None, directory: str | None) -> Path:
    if is_git(url):
        checkout, _ = fetch(url, ref)
        return checkout / directory if directory else checkout
    folder = Path(url).expanduser()
    return folder / directory if directory else folder


def _join(entry: str, child: str) -> str:
    """The reference of `child`, a sub-folder of a search-path entry."""
    url, ref, directory = split_reference(entry)
    if not is_git(url):
        return str(Path(url).expanduser() / child)
    inner = f"{directory.rstrip('/')}/{child}" if directory else child
    return f"{url}#{'ref=' + ref + '&' if ref else ''}directory={inner}"


def find_named(name: str) -> ResolvedSource | None:
    """The first blueprint called `name` on the search path, resolved; None when there is none."""
    for found, entry in configured():
        if found == name:
            return resolve(entry)
    return None
