"""Generate the hostile-input corpus: malformed, truncated, oversized and malicious inputs for every
reader (tables, Qualtrics and REDCap exports, text, coded-segment CSVs, .qdpx projects, .qdc codebooks) and for study.yaml.

Each case names the reader, the file, and what must happen: the error it must raise (a pattern
over the message, which names the file, the place and the rule) or, for a tolerated input, how
many rows are kept. `python -m tests.hostile.generate OUT` writes every case to OUT (one file per
case plus cases.json) for use outside the test suite.
"""

from __future__ import annotations

import codecs
import io
import json
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.demo.exports import RedcapField, write_redcap_dictionary
from tests.schemas.test_study_config import MINIMAL


@dataclass(frozen=True)
class Case:
    """One hostile input and the outcome it must have."""

    id: str
    reader: str  # table | qualtrics | redcap | text | segments | qdpx | qdc | study
    name: str  # file name the reader is given
    data: bytes
    error: str | None = None  # regex the error message must match (search)
    rows: int | None = None  # rows kept when the input is accepted
    # study cases: extra files in the study folder (path -> bytes), symlinks (path -> target),
    # FIFOs to create (paths)
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    fifos: tuple[str, ...] = ()


# --- Tables (sites, rosters, human-coded answers: CSV, TSV, XLSX) --------------------------------

ROSTER = "member_id,ccg_code,role\nM001,CCG001,chair\nM002,CCG001,gp_member\nM003,CCG002,nurse\n"


def _xlsx(rows: list[list[object]], sheet: str = "roster") -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def table_cases() -> Iterator[Case]:
    r = ROSTER
    yield Case("table-ok", "table", "r.csv", r.encode(), rows=3)
    yield Case("table-bom", "table", "r.csv", codecs.BOM_UTF8 + r.encode(), rows=3)
    yield Case("table-utf16", "table", "r.csv", r.encode("utf-16"), rows=3)
    yield Case("table-cp1252", "table", "r.csv", r.replace("chair", "chaïr").encode("cp1252"), rows=3)
    yield Case("table-crlf", "table", "r.csv", r.replace("\n", "\r\n").encode(), rows=3)
    yield Case("table-semicolons", "table", "r.csv", r.replace(",", ";").encode(), rows=3)
    yield Case("table-tsv", "table", "r.tsv", r.replace(",", "\t").encode(), rows=3)
    yield Case("table-blank-lines", "table", "r.csv", r.replace("\nM002", "\n\n,,\nM002").encode(), rows=3)
    yield Case("table-header-only", "table", "r.csv", b"member_id,ccg_code,role\n", rows=0)
    yield Case("table-short-row-padded", "table", "r.csv", (r + "M004,CCG003\n").encode(), rows=4)
    yield Case("table-formula-kept-as-text", "table", "r.csv", (r + '=cmd|"/c calc"!A1,CCG001,chair\n').encode(), rows=4)
    yield Case("table-10mb-field", "table", "r.csv", (r + "M005,CCG001," + "x" * 10_000_000 + "\n").encode(),
               error=r"^r\.csv: line 5: a field must not be longer than 131072 characters")
    yield Case("table-nul-bytes", "table", "r.csv", r.replace("M002", "M0\x0002").encode(), rows=3)
    yield Case("table-empty", "table", "r.csv", b"", error=r"^r\.csv: line 1: the first row must hold the column headers$")
    yield Case("table-blank-header", "table", "r.csv", b"\nM001,CCG001,chair\n",
               error=r"^r\.csv: line 1: the first row must hold the column headers$")
    yield Case("table-duplicate-header", "table", "r.csv", b"member_id,member_id,role\n1,2,3\n",
               error=r"^r\.csv: line 1, column 2: column headers must be unique \('member_id' appears more than once\)$")
    yield Case("table-data-without-header", "table", "r.csv", (r + "M009,CCG001,chair,extra\n").encode(),
               error=r"^r\.csv: line 1, column 4: every column holding data needs a header \(first value in line 5\)$")
    yield Case("table-truncated-row", "table", "r.csv", (r + "M004,CC").encode(),
               error=r"^r\.csv: line 5: the file is truncated: its last row is cut off \(2 of 3 fields and no line end")
    yield Case("table-truncated-one-field", "table", "r.csv", (r + "M0").encode(),
               error=r"^r\.csv: line 5: the file is truncated: its last row is cut off \(1 of 3 fields")
    yield Case("table-truncated-quote", "table", "r.csv", (r + 'M004,"CCG').encode(),
               error=r"^r\.csv: line 5: fields must follow CSV quoting rules \(the file is truncated: a quoted field")
    yield Case("table-truncated-tsv", "table", "r.tsv", (r.replace(",", "\t") + "M004\tCC").encode(),
               error=r"^r\.tsv: line 5: the file is truncated: its last row is cut off")
    # A quote inside an unquoted field is kept as a character (what spreadsheets do too).
    yield Case("table-quote-inside-field", "table", "r.csv", (r + 'M004,CC"G"1,chair\n').encode(), rows=4)
    yield Case("table-text-after-closing-quote", "table", "r.csv", (r + 'M004,"CCG"1,chair\n').encode(),
               error=r"^r\.csv: line 5: fields must follow CSV quoting rules \(',' expected after '\"'\)$")
    yield Case("table-wrong-suffix", "table", "r.txt", r.encode(),
               error=r"^r\.txt: file name: a table must be a \.csv, \.tsv or \.xlsx file \(found '\.txt'\)$")
    yield Case("table-no-suffix", "table", "roster", r.encode(),
               error=r"^roster: file name: a table must be a \.csv, \.tsv or \.xlsx file \(found ''\)$")
    yield Case("table-binary", "table", "r.csv", bytes(range(256)) * 4,
               error=r"^r\.csv: ")
    rows = [["member_id", "ccg_code", "role"], ["M001", "CCG001", "chair"], [1002.0, "CCG001", "nurse"]]
    yield Case("xlsx-ok", "table", "r.xlsx", _xlsx(rows), rows=2)
    yield Case("xlsx-broken-zip", "table", "r.xlsx", b"PK\x03\x04not a workbook",
               error=r"^r\.xlsx: file: an \.xlsx file must be a readable Excel workbook")
    yield Case("xlsx-not-zip", "table", "r.xlsx", r.encode(),
               error=r"^r\.xlsx: file: an \.xlsx file must be a readable Excel workbook")
    yield Case("xlsx-truncated", "table", "r.xlsx", _xlsx(rows)[:600],
               error=r"^r\.xlsx: file: an \.xlsx file must be a readable Excel workbook")
    yield Case("xlsx-empty-sheet", "table", "r.xlsx", _xlsx([]),
               error=r"^r\.xlsx: row 1: the first row must hold the column headers$")
    yield Case("xlsx-duplicate-header", "table", "r.xlsx", _xlsx([["a", "a"], [1, 2]]),
               error=r"^r\.xlsx: row 1, column 2: column headers must be unique")
    yield Case("csv-with-sheet", "table", "r.csv", r.encode(), error=r"^r\.csv: file name: a sheet can only be chosen in an \.xlsx file$")


# --- Survey exports (Qualtrics CSV with its three header rows, REDCap CSV and data dictionary) ------

QX_HEAD = (
    "ResponseId,Finished,Q1\n"
    "Response ID,Finished,How involved are you?\n"
    '"{""ImportId"":""_recordId""}","{""ImportId"":""finished""}","{""ImportId"":""QID1""}"\n'
)
QX_ROWS = "R_1,1,3\nR_2,1,4\nR_3,0,\n"
RC_HEAD = "record_id,q1,survey_complete\n"
RC_ROWS = "1,3,2\n2,4,2\n3,,0\n"
RC_DICT = write_redcap_dictionary([
    RedcapField("record_id", "survey", "text", "Record ID"),
    RedcapField("q1", "survey", "radio", "How involved?", (("1", "None"), ("2", "Little"), ("3", "Some"), ("4", "A lot"))),
]).decode()


def survey_cases() -> Iterator[Case]:
    q, r = QX_HEAD + QX_ROWS, RC_HEAD + RC_ROWS
    yield Case("qualtrics-ok", "qualtrics", "w.csv", q.encode(), rows=3)
    yield Case("qualtrics-crlf-bom", "qualtrics", "w.csv", codecs.BOM_UTF8 + q.replace("\n", "\r\n").encode(), rows=3)
    yield Case("qualtrics-utf16-tsv", "qualtrics", "w.tsv", q.replace(",", "\t").encode("utf-16"), rows=3)
    yield Case("qualtrics-no-final-newline", "qualtrics", "w.csv", q.rstrip("\n").encode(), rows=3)
    yield Case("qualtrics-header-only", "qualtrics", "w.csv", QX_HEAD.encode(), rows=0)
    yield Case("qualtrics-short-row-padded", "qualtrics", "w.csv", (q + "R_4,1\n").encode(), rows=4)
    yield Case("qualtrics-blank-rows", "qualtrics", "w.csv", (QX_HEAD + "R_1,1,3\n,,\n\nR_2,1,4\n").encode(), rows=2)
    yield Case("qualtrics-truncated-row", "qualtrics", "w.csv", (q + "R_4,1").encode(),
               error=r"^w\.csv: line 7: the file is truncated: its last row is cut off \(2 of 3 fields and no line end")
    yield Case("qualtrics-truncated-first-row", "qualtrics", "w.csv", (QX_HEAD + "R_").encode(),
               error=r"^w\.csv: line 4: the file is truncated: its last row is cut off \(1 of 3 fields")
    yield Case("qualtrics-truncated-quote", "qualtrics", "w.csv", (q + 'R_4,1,"so').encode(),
               error=r"^w\.csv: line 7: fields must follow CSV quoting rules \(the file is truncated: a quoted field")
    # A misplaced quote sends the file to the record-by-record reader: it refuses the cut too.
    yield Case("qualtrics-truncated-python-path", "qualtrics", "w.csv", (q + 'R_4,1,a"b\nR_5,1').encode(),
               error=r"^w\.csv: line 8: the file is truncated: its last row is cut off \(2 of 3 fields")
    yield Case("qualtrics-truncated-in-header", "qualtrics", "w.csv", QX_HEAD[:60].encode(),
               error=r"^w\.csv: line 3: a Qualtrics export starts with three header rows \(found 2: the file is truncated")
    yield Case("qualtrics-long-row", "qualtrics", "w.csv", (q + "R_4,1,3,extra\n").encode(),
               error=r"^w\.csv: line 7: a row must not have more fields than the header \(found 4 fields, the header has 3\)$")
    yield Case("qualtrics-no-import-ids", "qualtrics", "w.csv", ("ResponseId,Finished,Q1\nA,B,C\nx,y,z\n" + QX_ROWS).encode(),
               error=r'^w\.csv: line 3, column 1 "ResponseId": row 3 must hold \{"ImportId": \.\.\.\} JSON for every column')
    yield Case("qualtrics-empty", "qualtrics", "w.csv", b"", error=r"^w\.csv: line 1: row 1 must hold the export tags$")
    yield Case("qualtrics-blank-tag", "qualtrics", "w.csv", q.replace("ResponseId,Finished,Q1", "ResponseId,,Q1", 1).encode(),
               error=r"^w\.csv: line 1, column 2: every column needs an export tag$")
    yield Case("qualtrics-header-row-width", "qualtrics", "w.csv", q.replace("Response ID,Finished,", "Response ID,", 1).encode(),
               error=r"^w\.csv: line 2: header rows 2 and 3 must have one field per export tag \(found 2 fields, row 1 has 3\)$")
    yield Case("qualtrics-10mb-field", "qualtrics", "w.csv", (q + "R_4,1," + "x" * 10_000_000 + "\n").encode(),
               error=r"^w\.csv: line 7: a field must not be longer than 131072 characters")
    yield Case("qualtrics-binary", "qualtrics", "w.csv", bytes(range(256)) * 4, error=r"^w\.csv: ")
    yield Case("redcap-ok", "redcap", "r.csv", r.encode(), rows=3)
    yield Case("redcap-with-dictionary", "redcap", "r.csv", r.encode(), rows=3)
    yield Case("redcap-short-row-padded", "redcap", "r.csv", (r + "4,2\n").encode(), rows=4)
    yield Case("redcap-truncated-row", "redcap", "r.csv", (r + "4,2").encode(),
               error=r"^r\.csv: line 5: the file is truncated: its last row is cut off \(2 of 3 fields and no line end")
    yield Case("redcap-truncated-quote", "redcap", "r.csv", (r + '4,"2').encode(),
               error=r"^r\.csv: line 5: fields must follow CSV quoting rules \(the file is truncated")
    yield Case("redcap-long-row", "redcap", "r.csv", (r + "4,2,2,9\n").encode(),
               error=r"^r\.csv: line 5: a row must not have more fields than the header")
    yield Case("redcap-empty", "redcap", "r.csv", b"", error=r"^r\.csv: line 1: the first row must hold the REDCap field names$")
    yield Case("redcap-truncated-dictionary", "redcap", "r.csv", r.encode(),
               error=r"^dictionary\.csv: line 4: the file is truncated: its last row is cut off \(2 of 18 fields")
    yield Case("redcap-dictionary-not-a-dictionary", "redcap", "r.csv", r.encode(), error=r"^dictionary\.csv: ")


# Dictionaries given to the REDCap cases that use one (case id -> dictionary bytes).
REDCAP_DICTIONARIES: dict[str, bytes] = {
    "redcap-with-dictionary": RC_DICT.encode(),
    "redcap-truncated-dictionary": (RC_DICT + "q2,survey").encode(),
    "redcap-dictionary-not-a-dictionary": b"colour,shape\nred,round\n",
}


# --- Text decoding --------------------------------------------------------------------------------


def text_cases() -> Iterator[Case]:
    yield Case("text-utf8", "text", "t.txt", "naïve café".encode(), rows=1)
    yield Case("text-bom", "text", "t.txt", codecs.BOM_UTF8 + b"hello", rows=1)
    yield Case("text-utf16le", "text", "t.txt", "hello".encode("utf-16"), rows=1)
    must = r": text must be UTF-8 \("
    yield Case("text-cp1252-refused", "text", "t.txt", "café".encode("cp1252"), error=r"^t\.txt: line 1, byte 3" + must)
    yield Case("text-cp1252-second-line", "text", "t.txt", b"ok\nfa\xe7ade", error=r"^t\.txt: line 2, byte 5" + must)
    yield Case("text-invalid-utf8", "text", "t.txt", b"\xc3\x28 broken", error=r"^t\.txt: line 1, byte 0" + must)
    yield Case("text-overlong-utf8", "text", "t.txt", b"\xc0\xaf", error=r"^t\.txt: line 1, byte 0" + must)
    yield Case("text-lone-surrogate", "text", "t.txt", b"\xed\xa0\x80", error=r"^t\.txt: line 1, byte 0" + must)


# --- Coded-segment CSVs ---------------------------------------------------------------------------

SEG_HEADER = "source,case,speaker_role,start,end,code,coder,text\n"
SEG_ROW = "int1,caseA,gp,0,5,Workload,ana,Hello\n"


def segment_cases() -> Iterator[Case]:
    ok = SEG_HEADER + SEG_ROW + "int1,caseA,gp,6,11,Support,ben,world\n"
    yield Case("seg-ok", "segments", "s.csv", ok.encode(), rows=2)
    yield Case("seg-semicolons", "segments", "s.csv", ok.replace(",", ";").encode(), rows=2)
    yield Case("seg-blank-rows", "segments", "s.csv", (SEG_HEADER + "\n" + SEG_ROW + ",,,,,,,\n").encode(), rows=1)
    yield Case("seg-extra-column", "segments", "s.csv", (SEG_HEADER.replace("\n", ",memo\n") + SEG_ROW.replace("\n", ",x\n")).encode(), rows=1)
    yield Case("seg-header-only", "segments", "s.csv", SEG_HEADER.encode(), rows=0)
    yield Case("seg-empty", "segments", "s.csv", b"", error=r"^s\.csv: row 1: the file must start with a header row")
    yield Case("seg-missing-column", "segments", "s.csv", (SEG_HEADER.replace(",coder", "") + "int1,caseA,gp,0,5,W,Hello\n").encode(),
               error=r"^s\.csv: header \(row 1\): required column\(s\) missing: coder")
    yield Case("seg-duplicate-column", "segments", "s.csv", (SEG_HEADER.replace("text", "text,text") + SEG_ROW).encode(),
               error=r"^s\.csv: header \(row 1\): column\(s\) appear more than once: text")
    yield Case("seg-wrong-field-count", "segments", "s.csv", (SEG_HEADER + "int1,caseA,gp,0,5\n").encode(),
               error=r"^s\.csv: row 2: every row must have as many fields as the header \(found 5 field\(s\), the header has 8\)")
    yield Case("seg-truncated", "segments", "s.csv", (SEG_HEADER + SEG_ROW + "int1,caseA,gp,6").encode(),
               error=r"^s\.csv: row 3: the file is truncated: its last row is cut off \(4 of 8 fields")
    yield Case("seg-truncated-quote", "segments", "s.csv", (SEG_HEADER + SEG_ROW + 'int1,caseA,gp,6,11,S,ben,"wor').encode(),
               error=r"^s\.csv: last row: the file is truncated: a quoted field is never closed")
    for label, start, end, rule in (
        ("non-integer", "zero", "5", "column 'start': start must be a whole number \\(got 'zero'\\)"),
        ("negative", "-1", "5", "column 'start': start must not be negative \\(got -1\\)"),
        ("float", "0.5", "5", "column 'start': start must be a whole number \\(got '0.5'\\)"),
        ("reversed", "9", "2", "start must not be greater than end \\(start=9, end=2\\)"),
        ("blank-start", "", "5", "column 'start': start must be a whole number \\(got ''\\)"),
    ):
        yield Case(f"seg-{label}-offsets", "segments", "s.csv",
                   (SEG_HEADER + f"int1,caseA,gp,{start},{end},Workload,ana,Hello\n").encode(),
                   error=r"^s\.csv: row 2(, |: )" + rule)
    for column in ("source", "case", "code", "coder"):
        row = SEG_ROW.replace({"source": "int1", "case": "caseA", "code": "Workload", "coder": "ana"}[column], "", 1)
        yield Case(f"seg-blank-{column}", "segments", "s.csv", (SEG_HEADER + row).encode(),
                   error=rf"^s\.csv: row 2, column '{column}': {column} must not be empty$")
    yield Case("seg-cp1252", "segments", "s.csv", (SEG_HEADER + SEG_ROW.replace("Hello", "Café")).encode("cp1252"), rows=1)


# --- REFI-QDA projects (.qdpx) and codebooks (.qdc) ------------------------------------------------

def g(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def qde(sources: str = "", codes: str = "", prolog: str = "") -> bytes:
    codes = codes or f'<Code guid="{g(3)}" name="Workload" isCodable="true"/>'
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<Project xmlns="urn:QDA-XML:project:1.0" name="p">'
            f"<CodeBook><Codes>{codes}</Codes></CodeBook><Sources>{sources}</Sources></Project>").encode()


def source(body: str = "", *, path: str | None = None, text: str | None = "Hello world") -> str:
    attr = f' plainTextPath="{path}"' if path else ""
    inner = f"<PlainTextContent>{text}</PlainTextContent>" if text is not None else ""
    return f'<TextSource guid="{g(21)}" name="Interview 1"{attr}>{inner}{body}</TextSource>'


def selection(start: int | str, end: int | str, code: str | None = None) -> str:
    return (f'<PlainTextSelection guid="{g(41)}" startPosition="{start}" endPosition="{end}">'
            f'<Coding guid="{g(51)}"><CodeRef targetGUID="{code or g(3)}"/></Coding></PlainTextSelection>')


def nested_codes(depth: int) -> str:
    return "".join(f'<Code guid="{g(1000 + i)}" name="c{i}" isCodable="true">' for i in range(depth)) + "</Code>" * depth


def qdc(codes: str, prolog: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}<CodeBook xmlns="urn:QDA-XML:codebook:1.0">'
            f"<Codes>{codes}</Codes></CodeBook>").encode()


LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>")
XXE = '<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
EXTERNAL_DTD = '<!DOCTYPE p SYSTEM "http://127.0.0.1:1/evil.dtd">'


def qdpx_cases() -> Iterator[Case]:
    yield Case("qdpx-ok", "qdpx", "p.qdpx", make_zip({"project.qde": qde(source(selection(0, 5)))}), rows=1)
    yield Case("qdpx-deflated-ok", "qdpx", "p.qdpx",
               make_zip({"project.qde": qde(source(selection(0, 5)))}, zipfile.ZIP_DEFLATED), rows=1)
    yield Case("qdpx-not-zip", "qdpx", "p.qdpx", b"PK\x03\x04 not really", error=r"^p\.qdpx: whole file: broken zip")
    yield Case("qdpx-empty", "qdpx", "p.qdpx", b"", error=r"^p\.qdpx: whole file: broken zip")
    yield Case("qdpx-truncated", "qdpx", "p.qdpx", make_zip({"project.qde": qde(source())})[:-30],
               error=r"^p\.qdpx: whole file: broken zip")
    for i, member in enumerate(("../evil.txt", "/etc/passwd", "sources/../../x", "C:/win.ini", "..\\..\\x.txt")):
        yield Case(f"qdpx-zip-slip-{i}", "qdpx", "p.qdpx", make_zip({"project.qde": qde(), member: b"x"}),
                   error=r"zip member paths must be relative and must not contain '\.\.' \(path traversal\)")
    yield Case("qdpx-no-project", "qdpx", "p.qdpx", make_zip({"sources/a.txt": b"hi"}),
               error=r"^p\.qdpx: zip archive: a \.qdpx must contain project\.qde \(found: sources/a\.txt\)$")
    yield Case("qdpx-two-qde", "qdpx", "p.qdpx", make_zip({"a.qde": qde(), "b.qde": qde()}),
               error=r"a \.qdpx must contain project\.qde")
    yield Case("qdpx-xxe", "qdpx", "p.qdpx", make_zip({"project.qde": qde(prolog=XXE)}),
               error=r"XML must not declare entities or load external resources \(refused as unsafe\)")
    yield Case("qdpx-billion-laughs", "qdpx", "p.qdpx", make_zip({"project.qde": qde(prolog=LAUGHS)}),
               error=r"XML must not declare entities or load external resources")
    yield Case("qdpx-external-dtd", "qdpx", "p.qdpx", make_zip({"project.qde": qde(prolog=EXTERNAL_DTD)}),
               error=r"XML must not declare entities or load external resources")
    yield Case("qdpx-malformed-xml", "qdpx", "p.qdpx", make_zip({"project.qde": qde()[:-12]}),
               error=r"^p\.qdpx: project\.qde: line 1, column \d+: XML must be well-formed")
    yield Case("qdpx-wrong-root", "qdpx", "p.qdpx", make_zip({"project.qde": b"<Other/>"}),
               error=r"the root element must be Project")
    yield Case("qdpx-deep-codes", "qdpx", "p.qdpx", make_zip({"project.qde": qde(codes=nested_codes(20_000))}),
               error=r"^p\.qdpx: project\.qde: /Project/CodeBook/Codes/Code\[1\].*: codes must not be nested more than 64 levels deep")
    yield Case("qdpx-plaintextpath-traversal", "qdpx", "p.qdpx",
               make_zip({"project.qde": qde(source(path="internal://../project.qde", text=None))}),
               error=r"must stay inside the archive's sources folder \(path traversal\)")
    yield Case("qdpx-plaintextpath-absolute", "qdpx", "p.qdpx",
               make_zip({"project.qde": qde(source(path="file:///etc/passwd", text=None))}),
               error=r"only internal:// source paths can be read from a \.qdpx")
    yield Case("qdpx-plaintextpath-missing", "qdpx", "p.qdpx",
               make_zip({"project.qde": qde(source(path="internal://gone.txt", text=None))}),
               error=r"plainTextPath must point at a file in the zip")
    yield Case("qdpx-offset-past-end", "qdpx", "p.qdpx", make_zip({"project.qde": qde(source(selection(6, 99)))}),
               error=r"a selection must end within its source text")
    yield Case("qdpx-offset-reversed", "qdpx", "p.qdpx", make_zip({"project.qde": qde(source(selection(5, 2)))}),
               error=r"a selection must not start after it ends")
    yield Case("qdpx-offset-not-number", "qdpx", "p.qdpx", make_zip({"project.qde": qde(source(selection("a", 2)))}),
               error=r"^p\.qdpx: project\.qde: ")
    yield Case("qdpx-unknown-code", "qdpx", "p.qdpx", make_zip({"project.qde": qde(source(selection(0, 5, g(99))))}),
               error=r"CodeRef must target a code in the CodeBook")
    big = "a" * (8 << 20)
    yield Case("qdpx-bomb-source", "qdpx", "p.qdpx",
               make_zip({"project.qde": qde(source(path=f"internal://{g(21)}.txt", text=None)),
                         f"sources/{g(21)}.txt": big.encode()}, zipfile.ZIP_DEFLATED),
               error=r"zip member 'sources/.*\.txt': compression ratio must not exceed 200:1 \(a zip bomb\)")
    yield Case("qdpx-media-not-read", "qdpx", "p.qdpx",
               make_zip({"project.qde": qde(source(selection(0, 5))), "sources/video.mp4": big.encode()},
                        zipfile.ZIP_DEFLATED), rows=1)


def qdc_cases() -> Iterator[Case]:
    yield Case("qdc-ok", "qdc", "c.qdc", qdc(f'<Code guid="{g(3)}" name="Workload" isCodable="true"/>'), rows=1)
    yield Case("qdc-depth-64-ok", "qdc", "c.qdc", qdc(nested_codes(64)), rows=64)
    yield Case("qdc-deep", "qdc", "c.qdc", qdc(nested_codes(20_000)),
               error=r"^c\.qdc: /CodeBook/Codes/Code\[1\].*/Code: codes must not be nested more than 64 levels deep")
    yield Case("qdc-depth-65", "qdc", "c.qdc", qdc(nested_codes(65)), error=r"nested more than 64 levels deep")
    yield Case("qdc-xxe", "qdc", "c.qdc", qdc("", prolog=XXE), error=r"^c\.qdc: XML prolog: XML must not declare entities")
    yield Case("qdc-laughs", "qdc", "c.qdc", qdc("", prolog=LAUGHS), error=r"^c\.qdc: XML prolog: XML must not declare entities")
    yield Case("qdc-external-dtd", "qdc", "c.qdc", qdc("", prolog=EXTERNAL_DTD), error=r"XML must not declare entities")
    yield Case("qdc-malformed", "qdc", "c.qdc", qdc("<Code")[:-5], error=r"^c\.qdc: line 1, column \d+: XML must be well-formed")
    yield Case("qdc-wrong-root", "qdc", "c.qdc", b'<Project xmlns="urn:QDA-XML:project:1.0"/>',
               error=r"^c\.qdc: root element <Project>: a \.qdc root element must be CodeBook$")
    yield Case("qdc-empty", "qdc", "c.qdc", b"", error=r"^c\.qdc: line 1, column 1: XML must be well-formed")
    yield Case("qdc-duplicate-guid", "qdc", "c.qdc",
               qdc(f'<Code guid="{g(3)}" name="A" isCodable="true"/><Code guid="{g(3)}" name="B" isCodable="true"/>'),
               error=r"code GUIDs must be unique")
    yield Case("qdc-no-name", "qdc", "c.qdc", qdc(f'<Code guid="{g(3)}" isCodable="true"/>'),
               error=r"<Code> needs a name attribute")
    yield Case("qdc-oversized", "qdc", "c.qdc", qdc(f'<Code guid="{g(3)}" name="A" isCodable="true"/>' + " " * (65 << 20)),
               error=r"^c\.qdc: whole file: a codebook must not exceed 67108864 bytes")


# --- study.yaml -------------------------------------------------------------------------------------

STUDY_FILES = {name: f"{name}\n".encode() for name in
               ("sites.csv", "w1.csv", "w2.csv", "r.csv", "codes.qdc", "scoping/s1.csv", "cases/c1.csv")}


def _yaml(**overrides: object) -> bytes:
    return yaml.safe_dump({**MINIMAL, **overrides}).encode()


def _sites(path: str, **more: object) -> bytes:
    return _yaml(sites={**MINIMAL["sites"], "path": path}, **more)


def study_cases() -> Iterator[Case]:
    yield Case("study-ok", "study", "study.yaml", _yaml(), rows=8)
    for target in ("/etc/passwd", "/proc/self/environ", "/dev/zero", "/proc/self/cmdline", "/etc/hostname"):
        slug = target.strip("/").replace("/", "-")
        yield Case(f"study-absolute-{slug}", "study", "study.yaml", _sites(target),
                   error=rf"^study\.yaml sites\.path: '{target}': absolute paths are not allowed")
        yield Case(f"study-symlink-{slug}", "study", "study.yaml", _sites("sites_link.csv"),
                   links={"sites_link.csv": target},
                   error=r"^study\.yaml sites\.path: 'sites_link\.csv': (resolves to .*, a system file"
                         r"|leads outside the study folder through a symlink|cannot be resolved)")
        yield Case(f"study-allowed-root-{slug}", "study", "study.yaml", _sites(target, inputs_root=["/"]),
                   error=r"^study\.yaml sites\.path: '" + target + "': (resolves to .*, a system file|cannot be resolved)"
                   if target.startswith(("/proc", "/dev")) else None, rows=None if target.startswith(("/proc", "/dev")) else 8)
    for key, section in (("survey.waves.w1.export", "w1"), ("survey.waves.w2.roster.path", "w2")):
        waves = json.loads(json.dumps(MINIMAL["survey"]["waves"]))
        if key.endswith("export"):
            waves[section]["export"] = "../outside.csv"
        else:
            waves[section]["roster"]["path"] = "../outside.csv"
        yield Case(f"study-dotdot-{section}", "study", "study.yaml",
                   _yaml(survey={**MINIMAL["survey"], "waves": waves}), files={"../outside.csv": b"secret\n"},
                   error=rf"^study\.yaml {key.replace('.', chr(92) + '.')}: '\.\./outside\.csv': leads outside the study folder \(to ")
    yield Case("study-codebook-symlink-out", "study", "study.yaml",
               _yaml(qualitative={**MINIMAL["qualitative"], "codebook": "cb.qdc"}), links={"cb.qdc": "/etc/passwd"},
               error=r"^study\.yaml qualitative\.codebook: 'cb\.qdc': leads outside the study folder through a symlink")
    yield Case("study-cases-folder-symlink-out", "study", "study.yaml",
               _yaml(qualitative={**MINIMAL["qualitative"], "case_studies": {"projects": ["linked/*.csv"], "format": "segments_csv"}}),
               links={"linked": "/etc"}, files={},
               error=r"^study\.yaml qualitative\.case_studies\.projects\[0\]: 'linked/\*\.csv': |no input file matches 'linked/\*\.csv'")
    yield Case("study-fifo", "study", "study.yaml", _sites("pipe.csv"), fifos=("pipe.csv",),
               error=r"^study\.yaml sites\.path: 'pipe\.csv': is a FIFO, not a regular file$")
    yield Case("study-folder-as-file", "study", "study.yaml", _sites("scoping"),
               error=r"^study\.yaml sites\.path: 'scoping': is a folder, not a regular file$")
    yield Case("study-dangling-symlink", "study", "study.yaml", _sites("gone.csv"), links={"gone.csv": "/nonexistent/x.csv"},
               error=r"^study\.yaml sites\.path: 'gone\.csv': cannot be resolved \(FileNotFoundError")
    yield Case("study-symlink-loop", "study", "study.yaml", _sites("loop.csv"), links={"loop.csv": "loop.csv"},
               error=r"^study\.yaml sites\.path: 'loop\.csv': cannot be resolved")
    yield Case("study-symlink-inside-ok", "study", "study.yaml", _sites("alias.csv"), links={"alias.csv": "sites.csv"}, rows=8)
    yield Case("study-missing-input", "study", "study.yaml", _sites("nope.csv"),
               error=r"^study\.yaml sites\.path: no input file matches 'nope\.csv'")
    yield Case("study-glob-many-for-one", "study", "study.yaml", _sites("*.csv"),
               error=r"^study\.yaml sites\.path: '\*\.csv' matches \d+ files, expected one$")
    yield Case("study-duplicate-key", "study", "study.yaml", b"study:\n  id: a\n  title: t\n  id: b\n",
               error=r"line 4, column 3: not valid YAML .*duplicate key 'id' \(first given on line 2\)")
    yield Case("study-duplicate-section", "study", "study.yaml", _yaml() + b"roles: {}\n",
               error=r"not valid YAML .*duplicate key 'roles'")
    yield Case("study-python-tag", "study", "study.yaml", b"study: !!python/object/apply:os.system ['id']\n",
               error=r"^.*study\.yaml: line 1, column 8: not valid YAML")
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(8))
    yield Case("study-alias-bomb", "study", "study.yaml", bomb.encode(), error=r"study\.yaml: ")
    yield Case("study-not-mapping", "study", "study.yaml", b"- a\n- b\n",
               error=r"study\.yaml: the top level must be a mapping of sections$")
    yield Case("study-invalid-yaml", "study", "study.yaml", b"study: [unclosed\n",
               error=r"study\.yaml: line \d+, column \d+: not valid YAML")
    yield Case("study-unknown-key", "study", "study.yaml", _yaml(colour="red"),
               error=r"colour: unknown key \(check the spelling")
    yield Case("study-wrong-type", "study", "study.yaml", _yaml(sites={**MINIMAL["sites"], "path": ["a", "b"]}),
               error=r"sites\.path: Input should be a valid string")
    yield Case("study-binary", "study", "study.yaml", b"\xff\xfe\x00garbage",
               error=r"study\.yaml: byte 0: study\.yaml must be UTF-8 text")


def all_cases() -> list[Case]:
    """The whole corpus, in a stable order."""
    return [*table_cases(), *survey_cases(), *text_cases(), *segment_cases(), *qdpx_cases(), *qdc_cases(), *study_cases()]


def write_corpus(out: Path) -> int:
    """Write every case's bytes and a cases.json index into `out`; returns the number of cases."""
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for case in all_cases():
        (out / f"{case.id}--{case.name}").write_bytes(case.data)
        index.append({"id": case.id, "reader": case.reader, "name": case.name, "error": case.error,
                      "rows": case.rows, "links": case.links, "fifos": list(case.fifos)})
    (out / "cases.json").write_text(json.dumps(index, indent=2))
    return len(index)


if __name__ == "__main__":
    print(f"{write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else 'hostile-corpus'))} cases written")
