"""Shared REFI-QDA test data: GUIDs, a sample project, zip and project.qde builders."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import polars as pl

from tasks.demo.qda_project import project_from_rows
from tasks.ingest.qdpx import QdaProject

NS = "{urn:QDA-XML:project:1.0}"


def g(n: int) -> str:
    """A readable canonical GUID numbered n."""
    return f"00000000-0000-4000-8000-{n:012d}"


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


THEME, CATEGORY, LEAF, OTHER = g(1), g(2), g(3), g(4)
ANA, BEN = g(11), g(12)
S1, S2, S3 = g(21), g(22), g(23)
C1, C2 = g(31), g(32)
S1_TEXT = "Zoë said:\nthe café was naïve."
S2_TEXT = "Second interview, plain ASCII."
S3_TEXT = "Third: 日本語 text\r\nwith CRLF kept."


def sample_project() -> QdaProject:
    return project_from_rows(
        "Wellbeing study",
        codes=[
            {
                "guid": THEME,
                "name": "Wellbeing",
                "is_codable": False,
                "color": "#336699",
                "description": "Top theme",
            },
            {"guid": CATEGORY, "name": "Stress", "parent_guid": THEME},
            {"guid": LEAF, "name": "Workload", "parent_guid": CATEGORY, "description": ""},
            {"guid": OTHER, "name": "Support", "color": "#abc"},
        ],
        users=[{"guid": ANA, "name": "Ana"}, {"guid": BEN, "name": "Ben"}],
        sources=[
            {"guid": S1, "name": "Interview 1", "text": S1_TEXT},
            {"guid": S2, "name": "Interview 2", "text": S2_TEXT},
            {"guid": S3, "name": "Interview 3", "text": S3_TEXT},
        ],
        selections=[
            # "café" sits after a newline and a non-ASCII letter: character offsets, not bytes.
            {
                "guid": g(41),
                "source_guid": S1,
                "start": 14,
                "end": 18,
                "code_guid": LEAF,
                "user_guid": ANA,
            },
            # Overlaps the first selection and carries two codes by two coders.
            {
                "guid": g(42),
                "source_guid": S1,
                "start": 10,
                "end": 28,
                "code_guid": LEAF,
                "user_guid": ANA,
            },
            {
                "guid": g(42),
                "source_guid": S1,
                "start": 10,
                "end": 28,
                "code_guid": OTHER,
                "user_guid": BEN,
            },
            {"guid": g(43), "source_guid": S2, "start": 0, "end": 6, "code_guid": CATEGORY},
            {
                "guid": g(44),
                "source_guid": S3,
                "start": 7,
                "end": 10,
                "code_guid": OTHER,
                "user_guid": BEN,
            },
        ],
        source_variables=[
            {"source_guid": S1, "name": "mode", "value": "video"},
            {"source_guid": S2, "name": "mode", "value": "phone"},
        ],
        cases=[{"guid": C1, "name": "Participant A"}, {"guid": C2, "name": "Participant B"}],
        case_variables=[
            {"case_guid": C1, "name": "age", "value": "34"},
            {"case_guid": C1, "name": "role", "value": "nurse"},
            {"case_guid": C2, "name": "age", "value": "51"},
        ],
        case_sources=[
            {"case_guid": C1, "source_guid": S1},
            {"case_guid": C2, "source_guid": S2},
            {"case_guid": C2, "source_guid": S3},
        ],
    )


def as_read_back(project: QdaProject) -> QdaProject:
    """What reading the written project gives: texts now come from sources/<guid>.txt."""
    sources = project.sources.with_columns(
        plain_text_path=pl.concat_str(pl.lit("sources/"), pl.col("guid"), pl.lit(".txt"))
    )
    return dataclasses.replace(project, sources=sources)


def qde(sources: str, codes: str = "") -> bytes:
    codes = codes or f'<Code guid="{LEAF}" name="Workload" isCodable="true"/>'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p">
  <CodeBook><Codes>{codes}</Codes></CodeBook>
  <Sources>{sources}</Sources>
</Project>""".encode()


def selection(start: int, end: int, code: str = LEAF, guid: str = g(41)) -> str:
    return (
        f'<PlainTextSelection guid="{guid}" startPosition="{start}" endPosition="{end}">'
        f'<Coding guid="{g(51)}"><CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
    )


def text_source(body: str, *, path: str | None = None, text: str | None = "Hello world") -> str:
    attr = f' plainTextPath="{path}"' if path is not None else ""
    inline = f"<PlainTextContent>{text}</PlainTextContent>" if text is not None else ""
    return f'<TextSource guid="{S1}" name="Interview 1"{attr}>{inline}{body}</TextSource>'
