"""Random ids (request ids, log stream names, trace ids) from `os.urandom`, without importing `uuid`.

`uuid` imports `platform` and more at start-up, which a one-shot `invoke` pays for on every run; a version 4
UUID is only 122 random bits with the version and variant bits set, so it is made here instead. The strings
are the same shape `str(uuid.uuid4())` gives: lowercase hex, 8-4-4-4-12.
"""

from __future__ import annotations

import os


def random_hex(nbytes: int = 16) -> str:
    """`2 * nbytes` random lowercase hex digits (`uuid.uuid4().hex` for 16 bytes, minus the version bits)."""
    return os.urandom(nbytes).hex()


# The variant nibble of an RFC 4122 UUID is 8, 9, a or b: the top two bits of a random nibble set to 10.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def uuid4() -> str:
    """A random (version 4, RFC 4122 variant) UUID as a string, like `str(uuid.uuid4())`."""
    text = os.urandom(16).hex()
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}"
