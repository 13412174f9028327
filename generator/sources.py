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

import difflib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl

from . import paths, settings, userconfig
from .errors import BlueprintNotFound, SourceUnavailable

COOKIECUTTER_JSON = "cookiecutter.json"
GIT_PREFIXES = ("git+", "https://", "http://", "ssh://", "git://", "git@", "file://")
FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")
FETCH_TIMEOUT_S = 300


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
        if kind_of(paths.builtin_blueprints_dir() / reference) != "slsgen":
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


def git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run git without prompts (a missing credential fails instead of waiting for a password)."""
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
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
    root = repository_cache(url)
    if ref is not None and FULL_COMMIT.match(ref) and (root / ref).is_dir():
        return root / ref, ref
    plain = url.removeprefix("git+")
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    except OSError as exc:
        raise SourceUnavailable(f"cannot write the blueprint cache {root}: {exc.strerror}; set SLSGEN_CACHE") from None
    try:
        git("init", "--quiet", str(work / "git"))
        repo = work / "git"
        wanted = ref or "HEAD"
        result = git("fetch", "--quiet", "--depth", "1", "--no-tags", plain, wanted, cwd=repo)
        if result.returncode != 0 and ref is not None and re.fullmatch(r"[0-9a-f]{4,40}", ref):
            result = git("fetch", "--quiet", "--tags", plain, "+refs/heads/*:refs/remotes/origin/*", cwd=repo)
            wanted = ref
        else:
            wanted = "FETCH_HEAD"
        if result.returncode != 0:
            what = f"ref {ref!r} of {url}" if ref else url
            raise SourceUnavailable(f"cannot fetch {what}: {_last_line(result)}; check the URL, the ref and access")
        parsed = git("rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}", cwd=repo)
        if parsed.returncode != 0:
            raise SourceUnavailable(f"{url} has no commit {ref!r}: check --ref")
        commit = parsed.stdout.strip()
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
        return final, commit
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
