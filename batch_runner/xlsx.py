"""A minimal streaming .xlsx writer: text, whole-number and empty cells, a few fixed styles.

Why not openpyxl for writing: it serializes every cell through an XML element tree, which made
ledger.xlsx the slowest of the after-run files (about 0.4 s per 1,000 orders, in the wall time
of every night), and importing it costs the runner about 0.1 s at start. The workbook written
here is the same as openpyxl's write-only mode gave (the parts, inline strings, styles by
index, frozen header, filters with their defined names); the tests read it back with openpyxl.

Cells: None or "" is left out, an int is a number, anything else is given as text (an inline
string, so "=..." is never a formula, and "00012" stays "00012"). Rows stream into the zip
member as they come, so memory does not grow with the sheet. Callers clean the text of
characters XML forbids (see ledger_xlsx._text).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Self

#: Cell styles (indices into cellXfs of STYLES_XML).
PLAIN, BOLD, TEXT, TEXT_WRAP = 0, 1, 2, 3

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

STYLES_XML = (
    f'{_DECL}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/>'
    '<scheme val="minor"/></font><font><b val="1"/><sz val="11"/><name val="Calibri"/>'
    '<family val="2"/><scheme val="minor"/></font></fonts>'
    '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" applyFont="1" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" applyNumberFormat="1" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" applyNumberFormat="1" applyAlignment="1"'
    ' xfId="0"><alignment vertical="top" wrapText="1"/></xf>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def column_letter(n: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _attr(text: str) -> str:
    return text.translate(_ESCAPES).replace('"', "&quot;")


class Sheet:
    """One worksheet being written: append rows, then the workbook closes it."""

    def __init__(self, stream: IO[bytes], title: str, widths: Sequence[float]) -> None:
        self.title = title
        self.rows = 0
        self.columns = len(widths)
        self._stream = stream
        self._letters = [column_letter(n) for n in range(1, max(1, self.columns) + 1)]
        self._chunk: list[str] = []
        cols = "".join(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>'
                       for n, w in enumerate(widths, start=1))
        self._chunk.append(
            f'{_DECL}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" '
            'activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>')

    def append(self, values: Sequence[object], style: int = PLAIN) -> None:
        """One row: None/"" left empty, an int (not a bool) a number, anything else text in
        `style` (numbers keep the plain style)."""
        self.rows += 1
        r = self.rows
        letters = self._letters
        s = f' s="{style}"' if style else ""
        out = [f'<row r="{r}">']
        for n, value in enumerate(values):
            if value is None or value == "":
                continue
            ref = letters[n] if n < len(letters) else column_letter(n + 1)
            if type(value) is int:
                out.append(f'<c r="{ref}{r}" t="n"><v>{value}</v></c>')
                continue
            text = str(value)
            space = ' xml:space="preserve"' if text != text.strip() else ""
            out.append(f'<c r="{ref}{r}"{s} t="inlineStr"><is><t{space}>'
                       f'{text.translate(_ESCAPES)}</t></is></c>')
        out.append("</row>")
        self._chunk.append("".join(out))
        if len(self._chunk) >= 512:
            self._flush()

    @property
    def filter_ref(self) -> str:
        """The header and every row below it, as the filter's range (at least one row)."""
        return f"A1:{column_letter(max(1, self.columns))}{max(self.rows, 2)}"

    def _flush(self) -> None:
        self._stream.write("".join(self._chunk).encode("utf-8"))
        self._chunk.clear()

    def close(self) -> None:
        self._chunk.append(f'</sheetData><autoFilter ref="{self.filter_ref}"/>'
                           '<pageMargins left="0.75" right="0.75" top="1" bottom="1" '
                           'header="0.5" footer="0.5"/></worksheet>')
        self._flush()
        self._stream.close()


class Workbook:
    """An .xlsx file written sheet after sheet; each sheet is finished before the next starts.

        with Workbook(path) as wb:
            sheet = wb.sheet("ledger", widths)
            sheet.append(["order_id", ...], BOLD)
    """

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
        self._sheets: list[tuple[str, int, str]] = []  #: title, number, filter range
        self._open: Sheet | None = None

    def sheet(self, title: str, widths: Sequence[float]) -> Sheet:
        self._close_sheet()
        number = len(self._sheets) + 1
        stream = self._zip.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True)
        self._open = Sheet(stream, title, widths)
        return self._open

    def _close_sheet(self) -> None:
        if self._open is not None:
            self._open.close()
            self._sheets.append((self._open.title, len(self._sheets) + 1, self._open.filter_ref))
            self._open = None

    def close(self) -> None:
        self._close_sheet()
        z = self._zip
        n = len(self._sheets)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, n + 1))
        z.writestr("[Content_Types].xml", (
            f'{_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
            'package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-'
            f'officedocument.extended-properties+xml"/>{overrides}</Types>'))
        z.writestr("_rels/.rels", (
            f'{_DECL}<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/>'
            '</Relationships>'))
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        z.writestr("docProps/core.xml", (
            f'{_DECL}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            '<dc:creator>batch-runner</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
            '</cp:coreProperties>'))
        z.writestr("docProps/app.xml", (
            f'{_DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties"><Application>batch-runner</Application></Properties>'))
        sheets = "".join(f'<sheet name="{_attr(title)}" sheetId="{i}" r:id="rId{i}"/>'
                         for title, i, _ in self._sheets)
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i - 1}" hidden="1">'
            f"{_attr(_quoted(title))}!{_absolute(ref)}</definedName>"
            for title, i, ref in self._sheets)
        z.writestr("xl/workbook.xml", (
            f'{_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><workbookPr/>'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f'<sheets>{sheets}</sheets>'
            + (f"<definedNames>{names}</definedNames>" if names else "")
            + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'))
        rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" '
                       f'Target="worksheets/sheet{i}.xml"/>' for _, i, _ in self._sheets)
        z.writestr("xl/_rels/workbook.xml.rels", (
            f'{_DECL}<Relationships xmlns="{_PKG_REL}">{rels}'
            f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            '</Relationships>'))
        z.writestr("xl/styles.xml", STYLES_XML)
        z.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._zip.close()


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    """A1:T20 → $A$1:$T$20."""
    def one(cell: str) -> str:
        split = next(i for i, ch in enumerate(cell) if ch.isdigit())
        return f"${cell[:split]}${cell[split:]}"
    start, end = ref.split(":")
    return f"{one(start)}:{one(end)}"
