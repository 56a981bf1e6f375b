"""Tests for tasks.ingest.qdpx.archive: broken zips, unsafe member paths and the size bound."""

from __future__ import annotations

import io
import zipfile

import pytest

from tasks.ingest.errors import InputError
from tasks.ingest.qdpx import read_qdpx
from tasks.ingest.qdpx.archive import BoundedZipReader, QdpxLimits
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


def _reader(data: bytes, **kw: int) -> BoundedZipReader:
    return BoundedZipReader(zipfile.ZipFile(io.BytesIO(data)), "p.qdpx", limits=QdpxLimits(**kw))


def test_member_bound_on_declared_size_before_inflating() -> None:
    reader = _reader(make_zip({"project.qde": qde(""), "sources/big.txt": b"a" * 5000}), member_bytes=1000)
    with pytest.raises(
        InputError,
        match=r"^p.qdpx: zip member 'sources/big.txt': one member's uncompressed size must not exceed 1000 bytes "
        r"\(the zip declares 5000 bytes\)$",
    ):
        reader.read("sources/big.txt")
    assert reader.used == 0  # nothing was inflated


def test_total_bound_across_members() -> None:
    reader = _reader(make_zip({"a.txt": b"a" * 3000, "b.txt": b"b" * 3000}), total_bytes=5000)
    assert reader.read("a.txt") == b"a" * 3000
    with pytest.raises(InputError, match=r"'b.txt': total uncompressed size must not exceed 5000 bytes "
                       r"\(the zip declares 3000 more bytes after 3000\)"):
        reader.read("b.txt")


def test_media_members_are_never_inflated_so_large_exports_are_read() -> None:
    # A big export: 30 MB of (incompressible) media next to a small project: only project.qde is read.
    import os

    data = make_zip({"project.qde": qde(""), "sources/interview.mp3": os.urandom(30 << 20)})
    project = read_qdpx(data, "big.qdpx", limits=QdpxLimits(total_bytes=1 << 20, member_bytes=1 << 20))
    assert project.sources.height == 0


def test_zip_bomb_is_refused_by_its_ratio_before_inflating() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sources/bomb.txt", b"\0" * (64 << 20))
    bomb = buf.getvalue()
    assert len(bomb) < 200_000
    reader = _reader(bomb)
    with pytest.raises(InputError, match=r"'sources/bomb.txt': compression ratio must not exceed 200:1 "
                       r"\(a zip bomb\) \(67108864 bytes from \d+\)"):
        reader.read("sources/bomb.txt")
    assert reader.used == 0


def test_size_bound_is_also_counted_while_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip({"sources/big.txt": b"a" * 5000})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        reader = BoundedZipReader(archive, "p.qdpx", limit=4096)
        # A header that lies about the size gets past the declared check; the count still holds.
        monkeypatch.setattr(reader, "_check_declared", lambda info: None)
        with pytest.raises(
            InputError, match=r"must not exceed 4096 bytes \(counted while decompressing\)"
        ):
            reader.read("sources/big.txt")


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYFLOW_QDPX_MAX_MEMBER_MB", "2048")
    monkeypatch.setenv("STUDYFLOW_QDPX_MAX_CODE_DEPTH", "9")
    limits = QdpxLimits.from_env()
    assert (limits.member_bytes, limits.code_depth, limits.total_bytes) == (2048 << 20, 9, 1024 << 20)
    monkeypatch.setenv("STUDYFLOW_QDPX_MAX_RATIO", "0")
    with pytest.raises(ValueError, match=r"STUDYFLOW_QDPX_MAX_RATIO='0': expected a whole number of at least 1"):
        QdpxLimits.from_env()


def test_defaults_fit_real_projects() -> None:
    limits = QdpxLimits()
    # NVivo exports of several hundred MB: their text parts fit one member, the whole text the total.
    assert limits.member_bytes >= 256 << 20 and limits.total_bytes >= 512 << 20


def _deep_codebook(depth: int) -> bytes:
    opening = "".join(f'<Code guid="{i:08d}-0000-4000-8000-000000000000" name="c{i}" isCodable="true">'
                      for i in range(depth))
    return (
        '<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        + opening + "</Code>" * depth + "</Codes></CodeBook>"
    ).encode()


def test_deeply_nested_codebook_is_an_input_error_not_a_recursion_error() -> None:
    from tasks.ingest.qdpx import read_qdc

    with pytest.raises(InputError, match=r"^deep.qdc: /CodeBook/Codes/Code\[1\].*/Code: codes must not be "
                       r"nested more than 64 levels deep"):
        read_qdc(_deep_codebook(20_000), "deep.qdc")
    assert read_qdc(_deep_codebook(64), "ok.qdc").height == 64


def test_oversized_codebook_is_refused() -> None:
    from tasks.ingest.qdpx import read_qdc

    with pytest.raises(InputError, match=r"^big.qdc: whole file: a codebook must not exceed 100 bytes"):
        read_qdc(_deep_codebook(3), "big.qdc", limits=QdpxLimits(codebook_bytes=100))
