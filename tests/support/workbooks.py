"""Hand-built XLSX files, written with zipfile: hostile shapes no spreadsheet program would save."""

from __future__ import annotations

import zipfile
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    "</Relationships>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
SALES_HEADER = ("saleDate", "transactionId", "quantity", "amount", "partnerSkuCode")


def _text_cell(value: str, reference: str = "") -> str:
    at = f' r="{reference}"' if reference else ""
    return f'<c{at} t="inlineStr"><is><t>{value}</t></is></c>'


def _header_row() -> str:
    cells = "".join(_text_cell(name, f"{chr(65 + i)}1") for i, name in enumerate(SALES_HEADER))
    return f'<row r="1">{cells}</row>'


def _write(path: Path, sheet_parts: list[bytes] | bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        parts = [sheet_parts] if isinstance(sheet_parts, bytes) else sheet_parts
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for part in parts:
                sheet.write(part)
    return path


def far_corner_xlsx(path: Path, *, dimension: bool, header: bool = True) -> Path:
    """A workbook of a header row (or only A1) and XFD1048576: 1.6 KB spanning 17 billion cells."""
    declared = '<dimension ref="A1:XFD1048576"/>' if dimension else ""
    first = _header_row() if header else f'<row r="1">{_text_cell("saleDate", "A1")}</row>'
    sheet = (
        f"{_SHEET_START}{declared}<sheetData>{first}"
        f'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
        "</sheetData></worksheet>"
    )
    return _write(path, sheet.encode())


def zip_bomb_xlsx(path: Path, rows: int) -> Path:
    """A sales sheet of ``rows`` identical rows: a few MB compressed, hundreds of times that inflated."""
    row = "<row>" + "".join(
        _text_cell(value) for value in ("2024-01-05", "T1", "1", "1", "SKU")
    ) + "</row>"
    block = (row * 10_000).encode()
    parts = [f"{_SHEET_START}<sheetData>{_header_row()}".encode()]
    parts.extend(block for _ in range(rows // 10_000))
    parts.append(b"</sheetData></worksheet>")
    return _write(path, parts)


def sales_xlsx(path: Path, rows: list[tuple[str, ...]]) -> Path:
    """A small, well-formed sales sheet: the header, then ``rows`` on rows 2, 3, ..."""
    body = "".join(
        f'<row r="{n}">'
        + "".join(_text_cell(value, f"{chr(65 + i)}{n}") for i, value in enumerate(values))
        + "</row>"
        for n, values in enumerate(rows, start=2)
    )
    return _write(path, f"{_SHEET_START}<sheetData>{_header_row()}{body}</sheetData></worksheet>".encode())


def sheet_data_xlsx(path: Path, rows_xml: str) -> Path:
    """The sales header, then ``rows_xml`` (``<row>`` elements) as written."""
    return _write(path, f"{_SHEET_START}<sheetData>{_header_row()}{rows_xml}</sheetData></worksheet>".encode())
