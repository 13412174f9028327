"""The exceptions slsgen raises for its users.

Every user-facing problem is an `SlsgenError`: its message is one line that names the problem and the fix, and
the command line prints it and exits with code 2, without a traceback. One subclass per kind of problem, so that
callers of the Python API can catch exactly what they expect (`except BlueprintNotFound`).
"""

from __future__ import annotations


class SlsgenError(Exception):
    """Base class of every error slsgen reports to a user."""

    exit_code = 2


class BlueprintNotFound(SlsgenError):
    """The blueprint named is neither built in nor a folder or git repository with a manifest."""


class BlueprintInvalid(SlsgenError):
    """A blueprint's manifest or files are malformed."""


class SourceUnavailable(BlueprintNotFound):
    """A git blueprint could not be fetched (bad URL, unknown ref, no network) or its folder is missing."""


class ConfigInvalid(SlsgenError):
    """The user's config file is malformed: its message names the file, the line and the key."""


class Untrusted(SlsgenError):
    """A blueprint from an untrusted source would run code at generation; nothing was written."""


class UnsafePath(SlsgenError):
    """A blueprint would write outside the project folder, or a file name invalid on common file systems."""


class InvalidOption(SlsgenError):
    """An option value is malformed or outside Lambda's limits."""


class InvalidProjectName(InvalidOption):
    """The project name is not a slug that can name a folder, a stack and a function."""


class TargetExists(SlsgenError):
    """The target folder exists and is not empty, and --force was not given."""


class TargetConflict(TargetExists):
    """Under --force, paths in the target stand where the blueprint makes the other kind (a file for a folder)."""


class OutputDirInvalid(SlsgenError):
    """The output folder is not a folder: a file, or a path through a file."""


class WriteFailed(SlsgenError):
    """The file system refused a write (permissions, a read-only or virtual file system); nothing was written."""


class RenderError(SlsgenError):
    """Rendering the blueprint failed; nothing was written."""


class NotAProject(SlsgenError):
    """A project command ran outside a generated project."""


class RecordInvalid(SlsgenError):
    """A project's `.slsgen.json`, snapshot or pending update is malformed (edited by hand, damaged, or newer)."""
