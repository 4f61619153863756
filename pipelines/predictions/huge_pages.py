"""numpy's huge-page advice switched off while the predictions step runs.

On Linux numpy asks the kernel to back every array of 4 MB or more with 2 MB huge pages (madvise
MADV_HUGEPAGE). Under the kernel's default defragmentation setting for such memory ("madvise"), a page
fault there compacts memory on the spot when no free huge page is at hand, which after DuckDB and dbt have
filled the page cache is most of the time. The predictions step allocates gigabytes of short-lived arrays:
at a million customers, `predict_customers` in a fresh process spent 6.0-6.6 s of its 27 s of CPU in the
kernel and took 14.2-14.6 s; without the advice 2.3 s and 11.6 s, with the same results (the advice only
changes which pages back the memory).

``NUMPY_MADVISE_HUGEPAGE=0`` does this for a whole process, but numpy reads it once, when it is imported,
before any of our code runs; numpy's own setter (the one its import calls, present since numpy 1.20) is
used here for the step alone, and nothing is changed where it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from numpy._core import multiarray


@contextmanager
def huge_page_advice_off() -> Iterator[None]:
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is None:
        yield
        return
    previous = setter(False)
    try:
        yield
    finally:
        setter(previous)
