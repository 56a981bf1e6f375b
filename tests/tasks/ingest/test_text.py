"""Tests for decode_text: UTF-8 with or without BOM, cp1252 fallback, newlines, clear errors."""

from __future__ import annotations

import pytest

from tasks.ingest.errors import InputError
from tasks.ingest.text import DecodedText, decode_text


def test_plain_utf8_is_unchanged() -> None:
    assert decode_text("Zoë – naïve".encode(), "a.txt") == DecodedText("Zoë – naïve", "utf-8", ())


def test_utf8_bom_is_removed_and_noted() -> None:
    result = decode_text(b"\xef\xbb\xbfsource,case\n", "a.csv")
    assert result == DecodedText("source,case\n", "utf-8", ("removed a UTF-8 byte-order mark",))


def test_utf16_with_bom_is_converted() -> None:
    result = decode_text("héllo\r\n".encode("utf-16"), "a.txt")
    assert result.text == "héllo\n"
    assert result.encoding == "utf-16"
    assert result.notes == ("converted from UTF-16", "converted CRLF/CR line endings to LF")


def test_cp1252_fallback_is_noted() -> None:
    result = decode_text("Café “quoted” €5".encode("cp1252"), "a.txt")
    assert result == DecodedText(
        "Café “quoted” €5", "cp1252", ("converted from Windows-1252 (cp1252) to UTF-8",)
    )


def test_cp1252_refused_when_not_allowed() -> None:
    with pytest.raises(InputError) as caught:
        decode_text(b"ok\nCaf\xe9!", "a.txt", allow_cp1252=False)
    error = caught.value
    assert (error.file, error.place, error.rule) == (
        "a.txt",
        "line 2, byte 6",
        "text must be UTF-8",
    )
    assert str(error) == "a.txt: line 2, byte 6: text must be UTF-8 (invalid continuation byte)"


def test_crlf_and_cr_become_lf_unless_asked_not_to() -> None:
    data = b"one\r\ntwo\rthree\n"
    assert decode_text(data, "a.txt") == DecodedText(
        "one\ntwo\nthree\n", "utf-8", ("converted CRLF/CR line endings to LF",)
    )
    # REFI sources keep their line endings so selection offsets stay aligned.
    assert decode_text(data, "a.txt", normalise_newlines=False) == DecodedText(
        "one\r\ntwo\rthree\n", "utf-8", ()
    )


def test_bytes_undefined_in_cp1252_give_a_clear_error() -> None:
    with pytest.raises(
        InputError,
        match=r"^a\.txt: line 2, byte 3: text must be UTF-8 or Windows-1252 \(cp1252\) "
        r"\(byte 0x81 is undefined in cp1252\)$",
    ):
        decode_text(b"ok\n\x81", "a.txt")
