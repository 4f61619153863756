"""Text extracts delivered gzip-compressed (orders_2024.csv.gz): how their content is read.

Exports dropped on an SFTP server or a bucket are often gzipped. Every reader of a text file's bytes
(checksum, dialect detection, both CSV readers) opens it here, so a compressed file is read as the CSV it
holds: same dialect, same record numbers, same checksum as the file uncompressed (delivered both ways, it
is loaded once). Only text files: a Parquet file or a workbook is compressed inside already.
"""

from __future__ import annotations

import gzip
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from pipelines.ingestion.errors import ExtractFileError

GZIP_SUFFIX = ".gz"


def is_gzipped(path: Path) -> bool:
    return path.suffix.lower() == GZIP_SUFFIX


def open_content(path: Path) -> BinaryIO:
    """The file's content as a binary stream: decompressed as it is read for a .gz file."""
    return gzip.open(path, "rb") if is_gzipped(path) else path.open("rb")


def read_content(path: Path) -> bytes:
    with open_content(path) as handle:
        return handle.read()


@contextmanager
def damaged_gzip_named(path: Path) -> Iterator[None]:
    """Turn a gzip stream's errors into an ExtractFileError naming the file and what to do."""
    try:
        yield
    except EOFError:
        # A delivery still being written looks the same: parsing.py checks the file did not change first.
        raise ExtractFileError(
            path, "the compressed file ends before its end (cut short?): deliver it again, whole") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise ExtractFileError(path, f"is not a readable gzip file ({exc}): compress it again with gzip, or "
                                     f"deliver it uncompressed as {path.stem}") from None
