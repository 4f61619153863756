"""Memory the predictions step has freed, handed back to the system between its phases.

glibc's malloc keeps freed blocks below its mmap threshold in the process's heaps for reuse, and every
large free raises that threshold (up to 32 MB), so most of numpy's per-part and per-block arrays live
there. At ten million customers a phase (the count distribution and CLV quantiles, the back-test's
scores) leaves about 2 GB freed but still resident, which the next phase's own peak then stacks on.
`malloc_trim(0)` returns it; elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None


def hand_back_freed_memory() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
