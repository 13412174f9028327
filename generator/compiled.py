"""Compiled templates kept between runs: the Python code Jinja compiles a blueprint's templates to, in slsgen's cache.

Compiling the templates is most of what rendering a project costs (bench/README.md), and a template compiles to
the same code each time. Jinja's bytecode-cache hook stores that code; this cache keys an entry by the template's
name, a SHA-256 of its source and the environment settings the code depends on (delimiters, extensions, the
sandbox), since the stage folder a template is read from is new each run. Entries are written only after rendering,
outside the write confinement that holds a blueprint's writes to its project (`confine`), so nothing a template
renders reaches the cache; `slsgen cache clear` removes it with the fetched blueprints.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import BytecodeCache

from . import userconfig

if TYPE_CHECKING:
    from jinja2 import Environment
    from jinja2.bccache import Bucket

FOLDER = "compiled"
MAX_AGE_S = 30 * 24 * 3600  # an entry no render has read for a month (an old blueprint version's) is dropped


def environment_key(environment: Environment) -> str:
    """What the code of a template depends on besides its source: the settings Jinja lexes and compiles with."""
    settings = (
        type(environment).__qualname__,
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        environment.optimized,
        repr(environment.autoescape),
        sorted(environment.extensions),
    )
    return repr(settings)


class DeferredBytecodeCache(BytecodeCache):
    """Reads compiled templates from `folder`; keeps the ones compiled now in memory until `save`."""

    def __init__(self, folder: Path, environment: Environment) -> None:
        self.folder = folder
        self.settings = environment_key(environment)
        self.pending: dict[str, bytes] = {}
        self.read: list[Path] = []

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return hashlib.sha256(f"{self.settings}\0{name}".encode()).hexdigest()[:32]

    def get_source_checksum(self, source: str) -> str:
        return hashlib.sha256(source.encode("utf-8")).hexdigest()

    def _path(self, bucket: Bucket) -> Path:
        return self.folder / f"{bucket.key}-{bucket.checksum[:32]}.jinja"

    def load_bytecode(self, bucket: Bucket) -> None:
        path = self._path(bucket)
        try:
            with path.open("rb") as stored:
                bucket.load_bytecode(stored)  # Jinja checks its version and the checksum, and drops a bad entry
        except OSError:
            return
        self.read.append(path)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.pending[self._path(bucket).name] = bucket.bytecode_to_string()

    def save(self) -> None:
        """Write what was compiled, each file whole (a temporary name, then renamed), and mark what was read as used
        (its modification time); a cache that cannot be written is no error, only slower next time."""
        with contextlib.suppress(OSError):
            for path in self.read:
                os.utime(path)
            if self.pending:
                self.folder.mkdir(parents=True, exist_ok=True)
                for name, data in self.pending.items():
                    partial = self.folder / f".{name}.{os.getpid()}"
                    partial.write_bytes(data)
                    partial.replace(self.folder / name)
                now = time.time()
                for entry in self.folder.glob("*.jinja"):
                    if now - entry.stat().st_mtime > MAX_AGE_S:
                        entry.unlink()
        self.pending.clear()
        self.read.clear()


def bytecode_cache(environment: Environment) -> DeferredBytecodeCache:
    """The cache for templates rendered in `environment`, in slsgen's cache folder."""
    return DeferredBytecodeCache(userconfig.cache_dir() / FOLDER, environment)
