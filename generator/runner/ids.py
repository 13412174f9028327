"""Random ids (request ids, log stream names, trace ids) from `os.urandom`, without importing `uuid`.

`uuid` imports `platform` and more at start-up, which a one-shot `invoke` pays for on every run; a version 4
UUID is only 122 random bits with the version and variant bits set, so it is made here instead. The strings
are the same shape `str(uuid.uuid4())` gives: lowercase hex, 8-4-4-4-12.

`start-api` makes four ids per request, so the random digits are drawn from the system's generator a few hundred
at a time rather than with a system call per id; a forked child starts a pool of its own.
"""

from __future__ import annotations

import os

_POOL_BYTES = 256


class _Pool:
    """Random hex digits not handed out yet: `digits[at:]`."""

    digits = ""
    at = 0


def _reset_pool() -> None:
    _Pool.digits, _Pool.at = "", 0


if hasattr(os, "register_at_fork"):  # a child must not repeat its parent's ids
    os.register_at_fork(after_in_child=_reset_pool)


def random_hex(nbytes: int = 16) -> str:
    """`2 * nbytes` random lowercase hex digits (`uuid.uuid4().hex` for 16 bytes, minus the version bits)."""
    count = 2 * nbytes
    start = _Pool.at
    end = start + count
    if end > len(_Pool.digits):
        _Pool.digits = os.urandom(max(_POOL_BYTES, nbytes)).hex()
        start, end = 0, count
    _Pool.at = end
    return _Pool.digits[start:end]


# The variant nibble of an RFC 4122 UUID is 8, 9, a or b: the top two bits of a random nibble set to 10.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def uuid4() -> str:
    """A random (version 4, RFC 4122 variant) UUID as a string, like `str(uuid.uuid4())`."""
    text = random_hex(16)
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}"
