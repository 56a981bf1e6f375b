"""Zip archive safety for .qdpx files: member paths, declared and actually decompressed sizes.

A .qdpx comes from outside, so it is opened only through ``open_archive``: a broken zip, a
member path that could escape a folder (absolute, drive letter, ``..``) or more declared bytes
than the bound raise ``InputError`` before anything is decompressed, and ``BoundedZipReader``
counts every byte it decompresses against the same bound, since declared sizes can lie.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from tasks.ingest.errors import InputError

# Decompress in slices so the running total is checked long before a bomb fills memory.
_READ_CHUNK = 1 << 20


def unsafe_member_path(path: str) -> bool:
    """True when a zip member path is absolute, names a drive or steps out with '..'."""
    normal = path.replace("\\", "/")
    if normal.startswith("/") or re.match(r"[A-Za-z]:", normal):
        return True
    return any(part == ".." for part in normal.split("/"))


class BoundedZipReader:
    """Reads zip members while counting every decompressed byte against a total bound."""

    def __init__(self, archive: zipfile.ZipFile, file: str, limit: int) -> None:
        self.archive = archive
        self.file = file
        self.limit = limit
        self.used = 0
        # Members by normalised name: tools write "sources\\x.txt" or "./project.qde" too.
        self.members = {
            info.filename.replace("\\", "/").removeprefix("./"): info
            for info in archive.infolist()
            if not info.is_dir()
        }

    def read(self, member: str) -> bytes | None:
        """The member's bytes, or None when the archive has no such member."""
        info = self.members.get(member)
        if info is None:
            return None
        chunks = []
        try:
            with self.archive.open(info) as handle:
                while chunk := handle.read(_READ_CHUNK):
                    self.used += len(chunk)
                    # Declared sizes can lie; this count is what actually bounds memory use.
                    if self.used > self.limit:
                        raise InputError(
                            self.file,
                            f"zip member {info.filename!r}",
                            f"total uncompressed size must not exceed {self.limit} bytes",
                            "counted while decompressing",
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise InputError(
                self.file, f"zip member {info.filename!r}", "broken zip", str(exc)
            ) from exc
        return b"".join(chunks)


@contextmanager
def open_archive(data: bytes, name: str, max_uncompressed_bytes: int) -> Iterator[BoundedZipReader]:
    """Open a zip after checking member paths and declared sizes; yield a bounded reader."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputError(
            name, "whole file", "broken zip", f"not a readable zip archive: {exc}"
        ) from exc
    with archive:
        infos = archive.infolist()
        for info in infos:
            if unsafe_member_path(info.filename):
                raise InputError(
                    name,
                    f"zip member {info.filename!r}",
                    "zip member paths must be relative and must not contain '..' (path traversal)",
                )
        declared = sum(info.file_size for info in infos)
        if declared > max_uncompressed_bytes:
            raise InputError(
                name,
                "zip archive",
                f"total uncompressed size must not exceed {max_uncompressed_bytes} bytes",
                f"the zip declares {declared} bytes",
            )
        yield BoundedZipReader(archive, name, max_uncompressed_bytes)
