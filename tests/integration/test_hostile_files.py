"""Hostile partner files through the import engine: each fails or loses only itself, the process carries on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from headwater.ingest.connectors.memory import MemoryServer
from headwater.ingest.imports import RunSummary, run_source
from headwater.runtime import Runtime
from headwater.store.tables import DataSource, ImportErrorRow, ImportFile, PartnerSale
from tests.support.tenants import Tenancy, make_source, make_tenancy
from tests.support.workbooks import far_corner_xlsx, sales_xlsx, zip_bomb_xlsx

GOOD_CSV = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-01-02,T1,1,1,SKU-1\n"


@pytest.fixture
async def tenancy(runtime: Runtime) -> Tenancy:
    return await make_tenancy(runtime)


async def run_once(runtime: Runtime, source: DataSource, server: MemoryServer) -> RunSummary:
    return await run_source(runtime, source.tenant_id, source.id, connect=server.connector_for)


async def ledger(runtime: Runtime) -> dict[str, tuple[str, str | None]]:
    async with runtime.db.session() as session:
        files = (await session.scalars(select(ImportFile))).all()
    return {f.path: (f.state, (f.error or "").split(":")[0] or None) for f in files}


async def transaction_ids(runtime: Runtime) -> list[str]:
    async with runtime.db.session() as session:
        return sorted((await session.scalars(select(PartnerSale.transaction_id))).all())


def good_xlsx(tmp_path: Path) -> bytes:
    return sales_xlsx(tmp_path / "good.xlsx", [("2026-01-03", "T2", "1", "2", "SKU-2")]).read_bytes()


GOOD_FILES_IMPORTED = {"good.csv": ("imported", None), "good.xlsx": ("imported", None)}


async def run_beside_good_files(
    runtime: Runtime, tenancy: Tenancy, tmp_path: Path, name: str, content: bytes
) -> RunSummary:
    """One run of a source holding the file ``name`` beside a good CSV and a good workbook."""
    server = MemoryServer()
    server.put(f"in/{name}", content)
    server.put("in/good.csv", GOOD_CSV)
    server.put("in/good.xlsx", good_xlsx(tmp_path))
    return await run_once(runtime, await make_source(runtime, tenancy), server)


@pytest.mark.parametrize(
    ("dimension", "header", "code"),
    [
        (True, True, "SpreadsheetTooComplex"),
        (False, True, "SpreadsheetTooComplex"),
        (True, False, "SpreadsheetTooComplex"),
        (False, False, "MissingColumn"),  # A1 alone names no sales column: refused before XFD is reached
    ],
    ids=["header-declared", "header-undeclared", "a1-declared", "a1-undeclared"],
)
async def test_a_workbook_reaching_xfd1048576_fails_alone(
    runtime: Runtime, tenancy: Tenancy, tmp_path: Path, dimension: bool, header: bool, code: str
) -> None:
    pid = os.getpid()
    far = far_corner_xlsx(tmp_path / "far.xlsx", dimension=dimension, header=header)
    assert far.stat().st_size < 2048

    summary = await run_beside_good_files(runtime, tenancy, tmp_path, "far.xlsx", far.read_bytes())

    assert summary.outcome == "partial"
    assert await ledger(runtime) == {"far.xlsx": ("failed", code), **GOOD_FILES_IMPORTED}
    assert await transaction_ids(runtime) == ["T1", "T2"]
    assert os.getpid() == pid


async def test_a_zip_bomb_workbook_fails_as_too_large_and_the_other_files_import(
    runtime: Runtime, tenancy: Tenancy, tmp_path: Path
) -> None:
    bomb = zip_bomb_xlsx(tmp_path / "bomb.xlsx", rows=3_000_000)
    assert bomb.stat().st_size < 5 * 1024 * 1024

    summary = await run_beside_good_files(runtime, tenancy, tmp_path, "bomb.xlsx", bomb.read_bytes())

    assert summary.outcome == "partial"
    assert await ledger(runtime) == {"bomb.xlsx": ("failed", "FileTooLarge"), **GOOD_FILES_IMPORTED}
    assert await transaction_ids(runtime) == ["T1", "T2"]


async def test_a_row_with_a_quote_never_closed_is_rejected_and_the_rows_after_it_import(
    runtime: Runtime, tenancy: Tenancy
) -> None:
    server = MemoryServer()
    server.put(
        "in/sales.csv",
        GOOD_CSV + b'2026-01-02,"T2,1,1,SKU-1\n2026-01-02,T3,1,1,SKU-1\n2026-01-02,T4,1,1,SKU-1\n',
    )
    source = await make_source(runtime, tenancy)

    summary = await run_once(runtime, source, server)

    [outcome] = summary.files
    assert (outcome.state, outcome.rows, outcome.rows_ok, outcome.rows_with_errors) == ("imported", 4, 3, 1)
    assert await transaction_ids(runtime) == ["T1", "T3", "T4"]
    async with runtime.db.session() as session:
        errors = (await session.scalars(select(ImportErrorRow))).all()
    assert [(e.line, e.code) for e in errors] == [(3, "UnterminatedQuote")]


async def test_a_windows_1252_file_keeps_its_euro_sign(runtime: Runtime, tenancy: Tenancy) -> None:
    server = MemoryServer()
    server.put(
        "in/sales.csv",
        "saleDate,transactionId,quantity,amount,partnerSkuCode,description1\n"
        "2026-01-02,T1,1,1,SKU-1,Caf\u00e9 10 \u20ac\n".encode("cp1252"),
    )
    source = await make_source(runtime, tenancy)

    summary = await run_once(runtime, source, server)

    assert [f.state for f in summary.files] == ["imported"]
    async with runtime.db.session() as session:
        sale = await session.scalar(select(PartnerSale))
    assert sale is not None and sale.descriptions == {"description1": "Caf\u00e9 10 \u20ac"}
