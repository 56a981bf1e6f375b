"""Tests for tasks.ingest.qdpx.archive: broken zips, unsafe member paths and the size bound."""

from __future__ import annotations

import io
import zipfile

import pytest

from tasks.ingest.errors import InputError
from tasks.ingest.qdpx import read_qdpx
from tasks.ingest.qdpx.archive import BoundedZipReader
from tests.tasks.ingest.qdpx.samples import make_zip, qde


def test_broken_zip() -> None:
    with pytest.raises(
        InputError, match=r"^notazip.qdpx: whole file: broken zip \(not a readable zip"
    ):
        read_qdpx(b"PK\x03\x04 this is not really a zip", "notazip.qdpx")


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/passwd", "sources/../../x", "C:/win.ini"])
def test_path_traversal_member_is_refused(member: str) -> None:
    data = make_zip({"project.qde": qde(""), member: b"x"})
    with pytest.raises(
        InputError,
        match=rf"zip member {member!r}: zip member paths must be relative and must not contain '\.\.'",
    ):
        read_qdpx(data, "p.qdpx")


def test_size_bound_on_declared_sizes() -> None:
    data = make_zip({"project.qde": qde(""), "sources/big.txt": b"a" * 5000})
    with pytest.raises(
        InputError,
        match=r"zip archive: total uncompressed size must not exceed 1000 bytes \(the zip declares \d+ bytes\)",
    ):
        read_qdpx(data, "p.qdpx", max_uncompressed_bytes=1000)


def test_size_bound_is_also_counted_while_reading() -> None:
    data = make_zip({"sources/big.txt": b"a" * 5000})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        reader = BoundedZipReader(archive, "p.qdpx", limit=4096)
        with pytest.raises(
            InputError, match=r"must not exceed 4096 bytes \(counted while decompressing\)"
        ):
            reader.read("sources/big.txt")
