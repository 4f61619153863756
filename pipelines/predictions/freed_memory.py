"""Memory the predictions step has freed, handed back to the system between its phases.

glibc's malloc keeps freed blocks below its mmap threshold in the process's heaps for reuse, and every
large free raises that threshold (up to 32 MB), so most of numpy's per-part and per-block arrays live
there. At ten million customers a phase (the count distribution and CLV quantiles, the back-test's
scores) leaves about 2 GB freed but still resident, which the next phase's own peak then stacks on.
`malloc_trim(0)` returns it; elsewhere than glibc this does nothing.

Only for large runs: the next phase faults every page handed back in again, which at a million customers
costs about 0.8 s of the step's 13 (alternated runs of predict_customers on the 1M benchmark's summaries)
for no lower peak (1.8 GB either way).
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


# From this many customers the phases' freed memory is worth handing back (2 GB at ten million).
TRIM_FROM_CUSTOMERS = 3_000_000


def hand_back_freed_memory(customers: int) -> None:
    if customers < TRIM_FROM_CUSTOMERS:
        return
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
