"""Text extracts delivered compressed, gzipped (orders_2024.csv.gz) or in a zip archive of one file
(orders.zip holding orders_2024.csv): how their content is read.

Exports dropped on an SFTP server or a bucket are often gzipped; those downloaded from a shop's admin or
e-mailed (Shopify, Stripe, a scheduled report) often come zipped. Every reader of a text file's bytes
(checksum, dialect detection, both CSV readers) opens it here, so a compressed file is read as the CSV it
holds: same dialect, same record numbers, same checksum as the file uncompressed (delivered both ways, it
is loaded once). The content is decompressed as it is read, never written out: the readers stream it.
Only text files: a Parquet file or a workbook is compressed inside already.

A zip archive is read when it holds exactly one file, a text extract. One with several files is refused
rather than read in part or in an order of our choosing: each file is a delivery with its own name in the
ledger, so they are extracted into the landing directory (or zipped one per archive). The entries macOS
adds when it zips (`__MACOSX/`, resource forks) and folder entries are not files of the delivery.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from pipelines.ingestion.errors import ExtractFileError

GZIP_SUFFIX = ".gz"
ZIP_SUFFIX = ".zip"
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_MACOS_METADATA = "__MACOSX/"
_ENCRYPTED = 0x1  # general purpose bit 0 of a zip entry: the file is encrypted


def is_gzipped(path: Path) -> bool:
    return path.suffix.lower() == GZIP_SUFFIX


def is_zip_archive(path: Path) -> bool:
    return path.suffix.lower() == ZIP_SUFFIX


def is_compressed(path: Path) -> bool:
    """Read whole to know its content's size: the file's own size says nothing of it."""
    return is_gzipped(path) or is_zip_archive(path)


def delivered_files(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The files of a zip archive, without its folder entries and the metadata macOS adds when it zips."""
    return [entry for entry in archive.infolist()
            if not entry.is_dir() and not entry.filename.startswith(_MACOS_METADATA)
            and not PurePosixPath(entry.filename).name.startswith("._")]


def only_file_name(path: Path) -> str | None:
    """The name of the one file a zip archive holds (without its folder), None when it holds none or several
    or is not a readable archive: what tells which extract an archive named like none belongs to."""
    try:
        with zipfile.ZipFile(path) as archive:
            files = delivered_files(archive)
    except (zipfile.BadZipFile, OSError):
        return None
    return PurePosixPath(files[0].filename).name if len(files) == 1 else None


def archived_file(path: Path) -> zipfile.ZipInfo:
    """The one text file a zip archive holds; an ExtractFileError saying what to change for any other."""
    try:
        with zipfile.ZipFile(path) as archive:
            files = delivered_files(archive)
    except zipfile.BadZipFile as exc:
        raise ExtractFileError(path, f"is not a readable zip archive ({exc}; cut short, or not a zip file): "
                                     "deliver it again, or extract its file into the landing directory"
                               ) from None
    if not files:
        raise ExtractFileError(path, "the zip archive holds no file: deliver the export itself")
    if len(files) > 1:
        names = ", ".join(entry.filename for entry in files[:5]) + (", ..." if len(files) > 5 else "")
        raise ExtractFileError(path, f"the zip archive holds {len(files)} files ({names}): deliver one file "
                                     "per archive, or extract them into the landing directory")
    entry = files[0]
    name = PurePosixPath(entry.filename).name
    if entry.flag_bits & _ENCRYPTED:
        raise ExtractFileError(path, f"{name} in the zip archive is password-protected: deliver the archive "
                                     "without a password, or extract the file into the landing directory")
    if PurePosixPath(name).suffix.lower() not in TEXT_SUFFIXES:
        raise ExtractFileError(path, f"the zip archive holds {name}, not a text file "
                                     f"({', '.join(TEXT_SUFFIXES)}): extract it into the landing directory "
                                     "(a workbook or a Parquet file is read as it is)")
    return entry


def open_content(path: Path) -> BinaryIO:
    """The file's content as a binary stream, decompressed as it is read for a .gz file or a zip archive."""
    if is_gzipped(path):
        return gzip.open(path, "rb")
    if is_zip_archive(path):
        entry = archived_file(path)
        # The member's stream keeps the archive's file open after the archive object is closed.
        with zipfile.ZipFile(path) as archive:
            try:
                return archive.open(entry)
            except NotImplementedError:
                raise ExtractFileError(
                    path, f"{entry.filename} is compressed with a method that cannot be read (zip method "
                          f"{entry.compress_type}; Windows uses Deflate64 for large files): zip it again "
                          "with the standard method (Deflate), or extract it into the landing directory"
                ) from None
    return path.open("rb")


def read_content(path: Path) -> bytes:
    with open_content(path) as handle:
        return handle.read()


def compression_of(path: Path) -> dict:
    """What the ledger's dialect says of it: {"compression": "gzip"}, or "zip" and the file archived."""
    if is_gzipped(path):
        return {"compression": "gzip"}
    if is_zip_archive(path):
        return {"compression": "zip", "archived_file": archived_file(path).filename}
    return {}


@contextmanager
def damaged_archive_named(path: Path) -> Iterator[None]:
    """Turn a gzip or zip stream's errors into an ExtractFileError naming the file and what to do."""
    kind = "zip archive" if is_zip_archive(path) else "gzip file"
    again = ("deliver it again, or extract its file into the landing directory" if is_zip_archive(path)
             else f"compress it again with gzip, or deliver it uncompressed as {path.stem}")
    try:
        yield
    except EOFError:
        # A delivery still being written looks the same: parsing.py checks the file did not change first.
        raise ExtractFileError(
            path, "the compressed file ends before its end (cut short?): deliver it again, whole") from None
    except (gzip.BadGzipFile, zipfile.BadZipFile, zlib.error) as exc:
        raise ExtractFileError(path, f"is not a readable {kind} ({exc}): {again}") from None
