"""Reading partner files: formats, encodings, delimiters, odd shapes and line numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from headwater.domain import ProcessorType
from headwater.errors import FileUnreadable
from tests.support.workbooks import far_corner_xlsx, sales_xlsx, sheet_data_xlsx, zip_bomb_xlsx

from .processor_support import codes, read, write_csv, write_xlsx

SALES = ProcessorType.PARTNER_SALES
LOCATIONS = ProcessorType.PHYSICAL_LOCATION
HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_detected_from_the_header(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path, [HEADER, "2024-01-05,T1,2,3.5,SKU1"], delimiter=delimiter)
    file_type, records, errors = read(path, SALES)
    assert file_type == "CSV"
    assert errors == []
    assert [(r["transaction_id"], r["sku"], r["total"]) for r in records] == [("T1", "SKU1", 7.0)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_utf8_with_or_without_bom_and_latin1_are_read(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path, ["code,name,city", "L1,Café Señor,Zürich"], encoding=encoding)
    _, records, errors = read(path, LOCATIONS)
    assert errors == []
    assert (records[0]["code"], records[0]["name"], records[0]["city"]) == ("L1", "Café Señor", "Zürich")


def test_column_names_match_in_any_case(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, ["SALEDATE,TransactionID,Quantity,AMOUNT,partnerskucode", "2024-01-05,T1,1,2,S"]
    )
    _, records, errors = read(path, SALES)
    assert errors == []
    assert records[0]["sale_date"] == date(2024, 1, 5)


@pytest.mark.parametrize(
    "content", [b"", b"\xef\xbb\xbf\n \r\n"], ids=["no bytes at all", "a BOM and blank lines"]
)
def test_a_file_without_a_line_of_text_is_unreadable_as_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "EmptyFile"


def test_a_header_only_file_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_bytes(HEADER.encode())  # not even a final newline
    file_type, records, errors = read(path, SALES)
    assert (file_type, records, errors) == ("CSV", [], [])


def test_a_binary_file_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "NotATable"


def test_a_legacy_xls_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "InvalidFileFormat"


def test_a_zip_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "InvalidFileFormat"


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["saleDate,quantity,skuCode", "2024-01-05,1,X"])
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "MissingColumn"
    for name in ("transactionId", "amount", "partnerSkuCode or skuCodeKey + skuCode"):
        assert name in caught.value.message
    assert "saleDate" not in caught.value.message


def test_a_text_file_without_the_columns_is_missing_them(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["just some words", "and more words"])
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "MissingColumn"


def test_a_10_mb_line_is_read(tmp_path: Path) -> None:
    long_name = "x" * (10 * 1024 * 1024)
    path = write_csv(tmp_path, ["code,name", "L1,short", f"L2,{long_name}", "L3,short"])
    _, records, errors = read(path, LOCATIONS)
    assert [(r["code"], r["line"]) for r in records] == [("L1", 2), ("L3", 4)]
    assert codes(errors) == [(3, "name", "ValueTooLong")]


def test_a_10_mb_line_in_a_column_not_read_is_fine(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["code,notes", "L1," + "y" * (10 * 1024 * 1024), "L2,z"])
    _, records, errors = read(path, LOCATIONS)
    assert errors == []
    assert [r["code"] for r in records] == ["L1", "L2"]


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["code,name", "L1,a", "", "L2,b", ",", "L3,c"])
    _, records, errors = read(path, LOCATIONS)
    assert errors == []
    assert [(r["code"], r["line"]) for r in records] == [("L1", 2), ("L2", 4), ("L3", 6)]


def test_a_row_with_the_wrong_number_of_values_is_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["code,name", "L1,a", "L2,b,extra", "L3", "L4,d"])
    _, records, errors = read(path, LOCATIONS)
    assert [(r["code"], r["line"]) for r in records] == [("L1", 2), ("L4", 5)]
    assert codes(errors) == [(3, None, "WrongColumnCount"), (4, None, "WrongColumnCount")]


def test_a_quoted_value_may_hold_the_delimiter_and_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('code,name\nL1,"Main St, 5"\nL2,"two\nlines"\nL3,c\n')
    _, records, errors = read(path, LOCATIONS)
    assert errors == []
    # Lines count records: the value spanning two lines is one line.
    assert [(r["code"], r["name"], r["line"]) for r in records] == [
        ("L1", "Main St, 5", 2),
        ("L2", "two\nlines", 3),
        ("L3", "c", 4),
    ]


def test_line_numbers_continue_across_batches(tmp_path: Path) -> None:
    lines = ["code,name"] + [f"L{i},n" if i != 7 else "L7" for i in range(1, 26)]
    path = write_csv(tmp_path, lines)
    _, records, errors = read(path, LOCATIONS, batch_rows=4)
    assert [r["line"] for r in records] == [i + 1 for i in range(1, 26) if i != 7]
    assert codes(errors) == [(8, None, "WrongColumnCount")]


def test_an_xlsx_first_sheet_is_read_with_sheet_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["SaleDate", "transactionId", "quantity", "amount", "partnerSkuCode"],
            [date(2024, 1, 5), "T1", 2, 1.25, "SKU1"],
            [None, None, None, None, None],
            ["2024-02-01", 1001, 1, 3, 42],
            ["not a date", "T3", 1, 1, "S"],
        ],
    )
    file_type, records, errors = read(path, SALES)
    assert file_type == "EXCEL"
    assert [(r["line"], r["sale_date"], r["transaction_id"], r["sku"], r["total"]) for r in records] == [
        (2, date(2024, 1, 5), "T1", "SKU1", 2.5),
        (4, date(2024, 2, 1), "1001", "42", 3.0),
    ]
    assert codes(errors) == [(5, "saleDate", "InvalidDate")]


def test_an_empty_xlsx_sheet_is_an_empty_file(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [])
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "EmptyFile"


def test_an_xlsx_without_the_columns_is_missing_them(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [["name", "city"], ["a", "b"]])
    with pytest.raises(FileUnreadable) as caught:
        read(path, LOCATIONS)
    assert caught.value.code == "MissingColumn"


@pytest.mark.parametrize(
    ("text", "records"),
    [
        ('code,name\nL1,a\nL2,"b\nL3,c\nL4,d\n', [("L1", 2), ("L3", 4), ("L4", 5)]),
        ('code,name\r\nL1,a\r\nL2,"b\r\nL3,c\r\n', [("L1", 2), ("L3", 4)]),
        ('code,name\nL1,a\nL2,"b\n', [("L1", 2)]),
        ('code,name\nL1,a\nL2,"b', [("L1", 2)]),
        ('code,name\nL1,5" screen\nL2,"b\nL3,c\n', [("L1", 2), ("L3", 4)]),
    ],
    ids=["middle", "crlf", "last-line", "no-final-newline", "after-a-literal-quote"],
)
def test_an_unterminated_quote_is_a_row_error_and_the_rows_after_it_are_read(
    tmp_path: Path, text: str, records: list[tuple[str, int]]
) -> None:
    path = tmp_path / "open-quote.csv"
    path.write_bytes(text.encode())
    _, read_records, errors = read(path, LOCATIONS)
    assert [(r["code"], r["line"]) for r in read_records] == records
    assert codes(errors) == [(3, None, "UnterminatedQuote")]


def test_an_unterminated_quote_after_a_value_spanning_lines_keeps_the_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "open-quote.csv"
    path.write_bytes(b'code,name\nL1,"two\nlines"\nL2,"never closed\nL3,c\nL4,d,extra\nL5,e\n')
    _, records, errors = read(path, LOCATIONS)
    assert [(r["code"], r["name"], r["line"]) for r in records] == [
        ("L1", "two\nlines", 2),
        ("L3", "c", 4),
        ("L5", "e", 6),
    ]
    assert codes(errors) == [(3, None, "UnterminatedQuote"), (5, None, "WrongColumnCount")]


def test_quoted_values_across_the_scan_chunks_are_followed(tmp_path: Path) -> None:
    # Over 8 MB of quoted values, each spanning two lines, then a quote never closed.
    rows = [f'L{i},"value, {i}\n{"x" * 90}"' for i in range(100_000)]
    path = tmp_path / "quoted.csv"
    path.write_bytes(("code,name\n" + "\n".join(rows) + '\nLX,"open\nLY,y\n').encode())
    _, records, errors = read(path, LOCATIONS)
    assert len(records) == 100_001
    assert (records[-1]["code"], records[-1]["line"]) == ("LY", 100_003)
    assert codes(errors) == [(100_002, None, "UnterminatedQuote")]


def test_a_windows_1252_file_reads_the_euro_sign_and_every_other_byte(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.csv"
    path.write_bytes(
        "code,name,city\nL1,Caf\u00e9 10 \u20ac,Z\u00fcrich\n".encode("cp1252")
        + b"L2,\x81\x8d\x8f\x90\x9d,x\n"
    )
    _, records, errors = read(path, LOCATIONS)
    assert errors == []
    assert [(r["name"], r["city"]) for r in records] == [
        ("Caf\u00e9 10 \u20ac", "Z\u00fcrich"),
        ("\x81\x8d\x8f\x90\x9d", "x"),
    ]


@pytest.mark.parametrize("dimension", [True, False], ids=["declared", "undeclared"])
def test_a_workbook_reaching_xfd1048576_is_too_complex(tmp_path: Path, dimension: bool) -> None:
    path = far_corner_xlsx(tmp_path / "far.xlsx", dimension=dimension)
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "SpreadsheetTooComplex"


def test_a_workbook_inflating_hundreds_of_times_is_too_large(tmp_path: Path) -> None:
    path = zip_bomb_xlsx(tmp_path / "bomb.xlsx", rows=1_000_000)
    with pytest.raises(FileUnreadable) as caught:
        read(path, SALES)
    assert caught.value.code == "FileTooLarge"


def test_a_workbook_is_read_with_its_cells_as_text(tmp_path: Path) -> None:
    path = sales_xlsx(tmp_path / "sales.xlsx", [("2024-01-05", "T1", "2", "1.5", "S1"), ("", "", "", "", "")])
    _, records, errors = read(path, SALES)
    assert errors == []
    assert [(r["line"], r["transaction_id"], r["total"]) for r in records] == [(2, "T1", 3.0)]


def test_workbook_cells_of_every_kind_become_text(tmp_path: Path) -> None:
    rich = '<c r="B2" t="inlineStr"><is><r><t>T</t></r><r><rPr><b/></rPr><t>1</t></r></is></c>'
    rows = (
        f'<row r="2"><c r="A2" t="inlineStr"><is><t>2024-01-05</t></is></c>{rich}'
        '<c r="C2"><v>2</v></c><c r="D2"><v>1.25</v></c><c r="E2" t="b"><v>1</v></c></row>'
        '<row r="4"><c r="A4" t="str"><v>2024-01-06</v></c><c r="B4" t="inlineStr"><is/></c>'
        '<c r="C4"><v>3.0E0</v></c><c r="D4"><v>2</v></c><c r="E4"><v>42</v></c></row>'
    )
    path = sheet_data_xlsx(tmp_path / "kinds.xlsx", rows)
    _, records, errors = read(path, SALES)
    assert [(r["line"], r["transaction_id"], r["sku"], r["total"]) for r in records] == [
        (2, "T1", "true", 2.5)
    ]
    assert codes(errors) == [(4, "transactionId", "MissingValue")]
