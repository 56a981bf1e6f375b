"""Zip archive safety for .qdpx files: member paths, sizes and compression ratios, streamed.

A .qdpx comes from outside, so it is opened only through ``open_archive``: a broken zip or a
member path that could escape a folder (absolute, drive letter, ``..``) raise ``InputError``
before anything is decompressed. Members are inflated only when read (media sources of a large
NVivo export never are), and each read is bounded *before* inflating, by the member's declared
size and compression ratio, and *while* inflating, by the bytes actually produced: declared
sizes can lie.

The bounds (``QdpxLimits``) default to what real projects need: exports of several hundred MB
are mostly media that is never inflated; their project.qde and text sources are far below the
per-member bound. Each bound can be raised with an environment variable (see ``QdpxLimits``).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tasks.ingest.errors import InputError

# Decompress in slices so the running totals are checked long before a bomb fills memory.
_READ_CHUNK = 1 << 20
_MB = 1 << 20
# Below this size a member's compression ratio is not judged: small repetitive XML legitimately
# compresses far better than a bomb's threshold.
_RATIO_FLOOR = 4 * _MB


@dataclass(frozen=True)
class QdpxLimits:
    """Bounds on what reading one .qdpx or .qdc may inflate and parse.

    Environment variables raise (or lower) them: STUDYFLOW_QDPX_MAX_MEMBER_MB,
    STUDYFLOW_QDPX_MAX_TOTAL_MB, STUDYFLOW_QDPX_MAX_RATIO, STUDYFLOW_QDPX_MAX_CODE_DEPTH and
    STUDYFLOW_QDC_MAX_MB.
    """

    # One member inflated: project.qde or one text source.
    member_bytes: int = 512 * _MB
    # All members read from one archive, inflated.
    total_bytes: int = 1024 * _MB
    # Inflated / compressed size of one member larger than _RATIO_FLOOR.
    ratio: int = 200
    # Nesting of <Code> elements in a codebook (real codebooks have fewer than 10 levels).
    code_depth: int = 64
    # A codebook file (.qdc) as read.
    codebook_bytes: int = 64 * _MB

    @classmethod
    def from_env(cls) -> QdpxLimits:
        """The default limits, each overridable by its environment variable."""
        default = cls()

        def read(name: str, value: int, scale: int = 1) -> int:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return value
            if not raw.isdigit() or int(raw) < 1:
                raise ValueError(f"{name}={raw!r}: expected a whole number of at least 1")
            return int(raw) * scale

        return cls(
            member_bytes=read("STUDYFLOW_QDPX_MAX_MEMBER_MB", default.member_bytes, _MB),
            total_bytes=read("STUDYFLOW_QDPX_MAX_TOTAL_MB", default.total_bytes, _MB),
            ratio=read("STUDYFLOW_QDPX_MAX_RATIO", default.ratio),
            code_depth=read("STUDYFLOW_QDPX_MAX_CODE_DEPTH", default.code_depth),
            codebook_bytes=read("STUDYFLOW_QDC_MAX_MB", default.codebook_bytes, _MB),
        )


def unsafe_member_path(path: str) -> bool:
    """True when a zip member path is absolute, names a drive or steps out with '..'."""
    normal = path.replace("\\", "/")
    if normal.startswith("/") or re.match(r"[A-Za-z]:", normal):
        return True
    return any(part == ".." for part in normal.split("/"))


class BoundedZipReader:
    """Reads zip members one at a time, each and all together bounded (see QdpxLimits)."""

    def __init__(
        self, archive: zipfile.ZipFile, file: str, limit: int | None = None, limits: QdpxLimits | None = None
    ) -> None:
        self.archive = archive
        self.file = file
        self.limits = limits or QdpxLimits.from_env()
        self.limit = limit if limit is not None else self.limits.total_bytes
        self.used = 0
        # Members by normalised name: tools write "sources\\x.txt" or "./project.qde" too.
        self.members = {
            info.filename.replace("\\", "/").removeprefix("./"): info
            for info in archive.infolist()
            if not info.is_dir()
        }

    def _refuse(self, info: zipfile.ZipInfo, rule: str, detail: str) -> InputError:
        return InputError(self.file, f"zip member {info.filename!r}", rule, detail)

    def _check_declared(self, info: zipfile.ZipInfo) -> None:
        """Refuse a member by its header before inflating a byte of it."""
        member_limit = min(self.limits.member_bytes, self.limit)
        if info.file_size > member_limit:
            raise self._refuse(info, f"one member's uncompressed size must not exceed {member_limit} bytes",
                               f"the zip declares {info.file_size} bytes")
        if self.used + info.file_size > self.limit:
            raise self._refuse(info, f"total uncompressed size must not exceed {self.limit} bytes",
                               f"the zip declares {info.file_size} more bytes after {self.used}")
        if info.file_size > _RATIO_FLOOR and info.file_size > self.limits.ratio * max(info.compress_size, 1):
            raise self._refuse(
                info, f"compression ratio must not exceed {self.limits.ratio}:1 (a zip bomb)",
                f"{info.file_size} bytes from {info.compress_size}",
            )

    def read(self, member: str) -> bytes | None:
        """The member's bytes, or None when the archive has no such member."""
        info = self.members.get(member)
        if info is None:
            return None
        self._check_declared(info)
        member_limit = min(self.limits.member_bytes, self.limit)
        chunks = []
        produced = 0
        try:
            with self.archive.open(info) as handle:
                while chunk := handle.read(_READ_CHUNK):
                    produced += len(chunk)
                    self.used += len(chunk)
                    # Declared sizes can lie; these counts are what actually bound memory use.
                    if self.used > self.limit:
                        raise self._refuse(info, f"total uncompressed size must not exceed {self.limit} bytes",
                                           "counted while decompressing")
                    if produced > member_limit:
                        raise self._refuse(
                            info, f"one member's uncompressed size must not exceed {member_limit} bytes",
                            "counted while decompressing",
                        )
                    if produced > _RATIO_FLOOR and produced > self.limits.ratio * max(info.compress_size, 1):
                        raise self._refuse(
                            info, f"compression ratio must not exceed {self.limits.ratio}:1 (a zip bomb)",
                            "counted while decompressing",
                        )
                    chunks.append(chunk)
        except InputError:
            raise
        # ValueError / OSError: a damaged header can make zipfile seek before the start.
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError, OSError) as exc:
            raise InputError(
                self.file, f"zip member {info.filename!r}", "broken zip", str(exc)
            ) from exc
        return b"".join(chunks)


@contextmanager
def open_archive(
    data: bytes, name: str, max_uncompressed_bytes: int | None = None, limits: QdpxLimits | None = None
) -> Iterator[BoundedZipReader]:
    """Open a zip after checking member paths; yield a reader bounding every member it inflates."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputError(
            name, "whole file", "broken zip", f"not a readable zip archive: {exc}"
        ) from exc
    with archive:
        for info in archive.infolist():
            if unsafe_member_path(info.filename):
                raise InputError(
                    name,
                    f"zip member {info.filename!r}",
                    "zip member paths must be relative and must not contain '..' (path traversal)",
                )
        yield BoundedZipReader(archive, name, max_uncompressed_bytes, limits)
