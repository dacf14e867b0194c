"""Request ids: echo a well-formed client id, else mint one (observe.py applies it)."""

from __future__ import annotations

import random
import re

_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
HEADER = b"x-request-id"

# A random (version 4) UUID: 122 random bits, the version nibble 4 and the variant bits 10.
_RANDOM_BITS = 0xFFFF_FFFF_FFFF_0FFF_3FFF_FFFF_FFFF_FFFF
_VERSION_AND_VARIANT = 0x0000_0000_0000_4000_8000_0000_0000_0000


def choose_request_id(sent: str | None) -> str:
    """Return the client's id if it fully matches the contract's pattern, else a new UUID."""
    if sent is not None and _VALID.fullmatch(sent):
        return sent
    return new_request_id()


def new_request_id() -> str:
    """Return a random (version 4) UUID in its usual text form.

    A correlation id, not a secret (a client may choose its own), so the bits come from
    `random`, reseeded from the OS in every process and after every fork, instead of
    uuid.uuid4()'s os.urandom: that system call and the UUID object cost 2 µs of the
    request's path against 0.5 µs here, as measured in a loop.
    """
    text = "%032x" % (random.getrandbits(128) & _RANDOM_BITS | _VERSION_AND_VARIANT)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
