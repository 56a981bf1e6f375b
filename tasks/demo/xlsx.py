"""Byte-stable .xlsx writing with openpyxl: fixed document dates and fixed zip timestamps."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

EXCEL_MAX_ROWS = 1_048_576
FIXED_DATE = datetime(2016, 9, 1, 9, 0, 0)
_ZIP_DATE = (2016, 9, 1, 9, 0, 0)


class XlsxStream:
    """A one-sheet workbook filled in chunks (openpyxl write-only mode keeps memory bounded)."""

    def __init__(self, header: Sequence[str], *, sheet: str) -> None:
        self._book = Workbook(write_only=True)
        self._book.properties.created = FIXED_DATE
        self._book.properties.modified = FIXED_DATE
        self._book.properties.creator = "studyflow demo"
        self._book.properties.lastModifiedBy = "studyflow demo"
        self._sheet = self._book.create_sheet(sheet)
        self._sheet.append(list(header))
        self.rows = 1

    def append(self, rows: Iterable[Sequence[object]]) -> None:
        """Add data rows."""
        for row in rows:
            self._sheet.append(list(row))
            self.rows += 1
        if self.rows > EXCEL_MAX_ROWS:
            raise ValueError(f"an Excel sheet holds at most {EXCEL_MAX_ROWS} rows")

    def finish(self) -> bytes:
        """The workbook's bytes; the same rows always give the same bytes."""
        raw = io.BytesIO()
        # ExcelWriter directly: save_workbook would stamp the current time as "modified".
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            ExcelWriter(self._book, archive).save()
        return _restamp(raw.getvalue())


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], *, sheet: str) -> bytes:
    """A one-sheet workbook; the same header and rows always give the same bytes."""
    stream = XlsxStream(header, sheet=sheet)
    stream.append(rows)
    return stream.finish()


def _restamp(data: bytes) -> bytes:
    """Rewrite a zip with every member dated FIXED_DATE, in the original member order."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target,
    ):
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 3
            member.external_attr = 0o644 << 16
            target.writestr(member, source.read(info.filename), compresslevel=6)
    return out.getvalue()
