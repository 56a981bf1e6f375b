"""Decode researcher text files: UTF-8 (with or without BOM), falling back to cp1252, and say which."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from tasks.ingest.errors import InputError


@dataclass(frozen=True)
class DecodedText:
    """Text decoded from bytes, with the encoding found and what was converted."""

    text: str
    encoding: str
    notes: tuple[str, ...]


def decode_text(
    data: bytes, name: str, *, allow_cp1252: bool = True, normalise_newlines: bool = True
) -> DecodedText:
    """Decode bytes as UTF-8 (BOM stripped), else cp1252 when allowed; CRLF becomes LF if asked."""
    notes: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        notes.append("removed a UTF-8 byte-order mark")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
        notes.append("converted from UTF-16")
        if normalise_newlines:
            text = _normalise_newlines(text, notes)
        return DecodedText(text, "utf-16", tuple(notes))
    try:
        text = data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError as exc:
        if not allow_cp1252:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(
                name, f"line {line}, byte {exc.start}", "text must be UTF-8", str(exc.reason)
            ) from exc
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc2:
            line = data[: exc2.start].count(b"\n") + 1
            raise InputError(
                name,
                f"line {line}, byte {exc2.start}",
                "text must be UTF-8 or Windows-1252 (cp1252)",
                f"byte 0x{data[exc2.start]:02x} is undefined in cp1252",
            ) from exc2
        encoding = "cp1252"
        notes.append("converted from Windows-1252 (cp1252) to UTF-8")
    if normalise_newlines:
        # Offsets into coded sources count characters of the text as stored: callers reading
        # REFI-QDA sources pass normalise_newlines=False so selections stay aligned.
        text = _normalise_newlines(text, notes)
    return DecodedText(text, encoding, tuple(notes))


def _normalise_newlines(text: str, notes: list[str]) -> str:
    if "\r" in text:
        notes.append("converted CRLF/CR line endings to LF")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
