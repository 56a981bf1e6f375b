"""Selections read on the quick path give the tables, notes and errors of the checked path."""

from __future__ import annotations

import pytest

from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import QdaProject, read_project_xml, read_qdpx, write_qdpx
from tasks.ingest.qdpx.reading import _ProjectReader, _without_dtd
from tests.tasks.ingest.qdpx.samples import LEAF, OTHER, g, qde, sample_project, text_source

ANA = g(11)
USERS = f'<Users><User guid="{ANA}" name="Ana"/></Users>'


def _with_users(xml: bytes) -> bytes:
    return xml.replace(b'name="p">', f'name="p">{USERS}'.encode(), 1)


def _selection(guid: str, start: str, end: str, codings: str, user: str | None = None) -> str:
    by = f' creatingUser="{user}"' if user is not None else ""
    return f'<PlainTextSelection guid="{guid}" startPosition="{start}" endPosition="{end}"{by}>{codings}</PlainTextSelection>'


def _coding(guid: str, code: str = LEAF, user: str | None = None, ref: str = "CodeRef") -> str:
    by = f' creatingUser="{user}"' if user is not None else ""
    return f'<Coding guid="{guid}"{by}><{ref} targetGUID="{code}"/></Coding>'


CODES = f'<Code guid="{LEAF}" name="Workload" isCodable="true"/><Code guid="{OTHER}" name="Other" isCodable="true"/>'
# Fine selections next to every kind the quick path leaves to the checked one.
MIXED = "".join([
    _selection(g(41), "0", "5", _coding(g(51)) + _coding(g(52), OTHER, ANA), ANA),
    _selection(g(42), " 1 ", "3", _coding(g(53), user=ANA)),
    _selection(g(43), "2", "4", _coding(g(54), user=g(99))),  # unknown coder: a note
    _selection(g(44).upper(), "2", "4", _coding(g(55))),  # upper-case GUID: valid, no note
    _selection(g(45), "2", "4", _coding(g(56), user=" ")),  # blank coder: none
    _selection(g(46), "2", "4", ""),  # no coding: counted
    _selection(g(47), "2", "4", _coding(g(57), code=g(98))),  # unknown code: an error
    _selection(g(41), "1", "2", _coding(g(58))),  # repeated selection GUID: an error
    _selection(g(48), "3", "99", _coding(g(59))),  # beyond the text: an error
    _selection(g(49), "x", "4", _coding(g(60))),  # not a number: an error
    _selection(g(50), "2", "4", _coding(g(61), ref="Description") + _coding(g(62))),
    _selection(g(63), "4", "2", _coding(g(64))),
])
FINE = "".join([
    _selection(g(41), "0", "5", _coding(g(51)) + _coding(g(52), OTHER, ANA), ANA),
    _selection(g(42), " 1 ", "3", _coding(g(53), user=ANA)),
    _selection(g(43), "2", "4", _coding(g(54), user=g(99))),
    _selection(g(44).upper(), "2", "4", _coding(g(55))),
    _selection(g(45), "2", "4", _coding(g(56), user=" ")),
    _selection(g(46), "2", "4", ""),
    _selection(g(50), "2", "4", _coding(g(61), ref="Description") + _coding(g(62))),
    _selection("{" + g(65) + "}", "0", "11", _coding(g(66), code=LEAF.upper())),
])


def _read(xml: bytes, *, quick: bool, monkeypatch: pytest.MonkeyPatch) -> QdaProject | str:
    if not quick:
        monkeypatch.setattr(_ProjectReader, "_plain_selection", lambda self, *a: False)
    try:
        return read_project_xml(xml, "p.qde")
    except (InputError, InputErrors) as exc:
        return str(exc)
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("body", [FINE, MIXED])
def test_quick_and_checked_selections_read_the_same(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    xml = _with_users(qde(text_source(body), CODES))
    quick, checked = _read(xml, quick=True, monkeypatch=monkeypatch), _read(xml, quick=False, monkeypatch=monkeypatch)
    if isinstance(quick, QdaProject):
        assert isinstance(checked, QdaProject)
        assert quick.notes == checked.notes
        assert all(quick.frames()[k].equals(checked.frames()[k]) for k in quick.frames())  # row order too
        assert quick.selections.height == 8
    else:
        assert quick == checked and "CodeRef must target a code in the CodeBook" in quick


def test_a_written_project_reads_back_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_qdpx(sample_project())
    quick = read_qdpx(data, "s.qdpx")
    monkeypatch.setattr(_ProjectReader, "_plain_selection", lambda self, *a: False)
    checked = read_qdpx(data, "s.qdpx")
    assert quick.notes == checked.notes
    assert all(quick.frames()[k].equals(checked.frames()[k]) for k in quick.frames())


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b'<?xml version="1.0" encoding="UTF-8"?>\n<Project/>', True),
        (b"\xef\xbb\xbf<Project/>", True),
        (b"  \n<Project/>", True),
        (b"<?xml version='1.0' encoding='iso-8859-1'?><Project/>", True),
        (b'<?xml version="1.0"?><Project/>', True),
        (b'<?xml version="1.0" encoding="UTF-16"?><Project/>', False),
        (b'<?xml version="1.0" encoding="cp500"?><Project/>', False),
        (b"<!DOCTYPE Project [<!ENTITY a 'b'>]><Project/>", False),
        (b"<Project><!-- <!DOCTYPE --></Project>", False),
        ("<Project/>".encode("utf-16"), False),
        (b"<?xml version='1.0' encoding=\"utf-8\"", False),
    ],
)
def test_only_documents_surely_without_a_dtd_skip_defusedxml(xml: bytes, expected: bool) -> None:
    assert _without_dtd(xml) is expected
