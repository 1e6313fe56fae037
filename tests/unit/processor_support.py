"""Helpers for the processor tests: write a CSV or XLSX file and read it through a processor."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]

from headwater.domain import RowError
from headwater.ingest.processors import processor_for
from headwater.ingest.processors.base import ProcessOptions

TODAY = date(2024, 6, 30)


def write_csv(
    tmp_path: Path, lines: list[str], *, delimiter: str = ",", encoding: str = "utf-8", name: str = "f.csv"
) -> Path:
    path = tmp_path / name
    text = "\n".join(line.replace(",", delimiter) for line in lines) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path: Path, rows: list[list[Any]], name: str = "f.xlsx") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def read(path: Path, processor_type: int, **options: Any) -> tuple[str, list[dict[str, Any]], list[RowError]]:
    """The file type, every good record (as dicts) and every row error, over all batches."""
    options.setdefault("today", TODAY)
    info, batches = processor_for(processor_type).read(path, ProcessOptions(**options))
    records: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for batch in batches:
        records.extend(batch.records.to_pylist())
        errors.extend(batch.errors)
    return info.file_type, records, errors


def codes(errors: list[RowError]) -> list[tuple[int | None, str | None, str]]:
    return [(error.line, error.column, error.code) for error in errors]
