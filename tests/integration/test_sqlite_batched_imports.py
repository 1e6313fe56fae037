"""SQLite imports a new file a batch per transaction: other writers get in, nobody sees a file half done."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import event, func, select

from headwater.access import apikeys
from headwater.api.app import create_app
from headwater.domain import FileState, ProcessorType
from headwater.ingest import pipeline
from headwater.ingest.pipeline import FileJob, FileOutcome, discard_abandoned_imports, import_local_file
from headwater.ingest.processors.base import ProcessOptions
from headwater.ingest.uploads import import_upload
from headwater.runtime import Runtime, open_runtime
from headwater.settings import Settings
from headwater.store import database
from headwater.store import imports as ledger_store
from headwater.store.records import write_batch
from headwater.store.tables import ImportErrorRow, ImportFile, PartnerSale, PartnerStock
from tests.conftest import running_app, runtime_of
from tests.integration.integration_support import (
    PULL_SOURCE,
    IntegrationClient,
    add_area_key,
    add_client,
    add_tenant,
    connect,
)
from tests.support import records
from tests.support.live import serving

SALES_HEADER = "saleDate,transactionId,quantity,amount,partnerSkuCode\n"
SALES = ProcessorType.PARTNER_SALES
STOCK = ProcessorType.PARTNER_STOCK


def sales_csv(transactions: list[str]) -> bytes:
    return (SALES_HEADER + "".join(f"2024-05-01,{t},1,9.5,SKU-1\n" for t in transactions)).encode()


@pytest.fixture
async def runtime(sqlite_settings: Settings) -> Any:
    async with open_runtime(sqlite_settings) as opened:
        yield opened


async def new_source(runtime: Runtime, processor_type: int = SALES) -> tuple[int, int]:
    async with runtime.db.session() as session:
        tenant_id = await records.add_tenant(session, "acme", touchpoint="shop")
        source_id = await records.add_custom_source(
            session, tenant_id, "uploads", processor_type=processor_type
        )
        return tenant_id, source_id


async def import_file(
    runtime: Runtime,
    tenant_id: int,
    source_id: int,
    path: str,
    content: bytes,
    folder: Path,
    *,
    processor_type: int = SALES,
    batch_rows: int = 2,
) -> FileOutcome:
    """``content`` imported at ``path`` through the pipeline, read ``batch_rows`` rows at a time."""
    local = folder / path.replace("/", "_")
    local.write_bytes(content)
    job = FileJob(
        tenant_id=tenant_id,
        source_id=source_id,
        processor_type=processor_type,
        path=path,
        name=path,
        local=local,
        checksum="",
        size=len(content),
        mtime=None,
        identity=None,
        run_id=None,
        reimport=False,
        options=ProcessOptions(batch_rows=batch_rows),
    )
    return await import_local_file(runtime, job)


async def leave_pending(runtime: Runtime, tenant_id: int, source_id: int, path: str, content: bytes) -> int:
    """What a process that died mid-file leaves: the file ``importing``, its first rows committed."""
    from headwater.ingest.processors import processor_for

    local = Path(runtime.scratch) / "pending.csv"
    local.write_bytes(content)
    _, batches = processor_for(SALES).read(local, ProcessOptions())
    async with runtime.db.session() as session:
        row = await ledger_store.claim_file(
            session, tenant_id, source_id, path, name=path, state=FileState.IMPORTING
        )
        written = await write_batch(
            session, SALES, tenant_id, source_id, row.id, next(batches).records, pending=True
        )
        await ledger_store.add_errors(session, tenant_id, row.id, written.errors)
        return row.id


async def stored(runtime: Runtime, model: type, **where: object) -> int:
    async with runtime.db.session() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(await session.scalar(query) or 0)


async def test_data_sources_are_created_in_both_dialects_while_a_large_file_imports(
    sqlite_settings: Settings, runtime: Runtime
) -> None:
    rows = 150_000
    content = sales_csv([f"T{n:07d}" for n in range(rows)])
    tenant_id = await add_tenant(runtime, "acme")
    async with runtime.db.session() as session:
        key = (await apikeys.issue(session, runtime.box, tenant_id)).key
        source_id = await records.add_custom_source(session, tenant_id, "uploads", processor_type=SALES)
    issued = await add_client(runtime, "acme")
    area_key = await add_area_key(runtime, "acme")
    answers: list[httpx.Response] = []
    with serving(create_app(sqlite_settings)) as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            integration = IntegrationClient(http, issued.client_id, issued.secret, area_key)
            await integration.authenticate()
            # The import runs here, the app in its own thread: two connections, as with two processes.
            importing = asyncio.create_task(
                import_upload(
                    runtime,
                    tenant_id,
                    source_id=source_id,
                    name="big.csv",
                    processor_type=None,
                    data=io.BytesIO(content),
                )
            )

            async def write(writer: int) -> None:
                n = 0
                while not importing.done():
                    n += 1
                    name = f"writer {writer} source {n}"
                    answers.append(
                        await http.post("/v1/data_sources", json={"name": f"{name} v1"}, auth=(key, ""))
                    )
                    body = {**PULL_SOURCE, "host": "127.0.0.1", "name": f"{name} prod"}
                    answers.append(await integration.request("POST", "/dataSources", json=body))
                    await asyncio.sleep(0.01)

            await asyncio.gather(*(write(writer) for writer in range(3)))
            imported = await importing

    assert (imported.state, imported.rows_ok) == (FileState.IMPORTED, rows)
    assert len(answers) >= 6
    failed = [
        (answer.request.url.path, answer.status_code, answer.text)
        for answer in answers
        if answer.status_code not in (200, 201) or "messageCode" in answer.text
    ]
    assert failed == []


async def test_rows_of_a_file_still_importing_are_listed_nowhere_until_it_commits(
    sqlite_settings: Settings,
) -> None:
    async with running_app(sqlite_settings) as (app, http):
        runtime: Runtime = app.state.runtime
        tenant_id = await add_tenant(runtime, "acme")
        async with runtime.db.session() as session:
            source_id = await records.add_custom_source(session, tenant_id, "uploads", processor_type=SALES)
        file_id = await leave_pending(runtime, tenant_id, source_id, "a.csv", sales_csv(["T1", "T2", "T2"]))
        client = await connect(app, http, "acme")

        assert (await stored(runtime, PartnerSale), await stored(runtime, ImportErrorRow)) == (2, 1)
        assert await client.get("/partnerSales") == []
        assert await client.get(f"/importFiles/{file_id}/partnerSales") == []
        assert await client.get(f"/importFiles/{file_id}/importErrors") == []

        async with runtime.db.session() as session:
            (await ledger_store.get_file(session, tenant_id, file_id)).state = FileState.IMPORTED
        assert [sale["transactionId"] for sale in await client.get("/partnerSales")] == ["T1", "T2"]
        assert len(await client.get(f"/importFiles/{file_id}/importErrors")) == 1


async def test_a_sale_of_an_earlier_file_is_skipped_and_one_repeated_across_batches_is_a_duplicate(
    runtime: Runtime, tmp_path: Path
) -> None:
    tenant_id, source_id = await new_source(runtime)
    await import_file(runtime, tenant_id, source_id, "a.csv", sales_csv(["T1"]), tmp_path)

    second = await import_file(
        runtime, tenant_id, source_id, "b.csv", sales_csv(["T1", "T2", "T3", "T2"]), tmp_path
    )

    assert (second.state, second.rows_ok, second.rows_skipped, second.rows_with_errors) == (
        "imported",
        2,
        1,
        1,
    )
    async with runtime.db.session() as session:
        [error] = await ledger_store.list_errors(session, tenant_id, second.file_id or 0)
    assert (error.line, error.code) == (5, "DuplicateTransaction")
    assert await stored(runtime, PartnerSale) == 3


async def test_a_sale_held_by_a_file_still_importing_rolls_the_file_back_rather_than_skip_it(
    runtime: Runtime, tmp_path: Path
) -> None:
    tenant_id, source_id = await new_source(runtime)
    await leave_pending(runtime, tenant_id, source_id, "a.csv", sales_csv(["T1"]))

    contended = await import_file(runtime, tenant_id, source_id, "b.csv", sales_csv(["T2", "T1"]), tmp_path)

    assert (contended.state, contended.error) == ("rolledback", "rolled back: ImportContended")
    assert await stored(runtime, PartnerSale, import_file_id=contended.file_id) == 0

    await discard_abandoned_imports(runtime)
    again = await import_file(runtime, tenant_id, source_id, "b.csv", sales_csv(["T2", "T1"]), tmp_path)
    assert (again.state, again.rows_ok, again.rows_skipped) == ("imported", 2, 0)


async def test_stock_meeting_keys_of_other_files_replaces_them_in_one_transaction(
    runtime: Runtime, tmp_path: Path
) -> None:
    tenant_id, source_id = await new_source(runtime, STOCK)

    def stock(*skus: str, quantity: int) -> bytes:
        return (
            "stockDate,quantity,partnerSkuCode\n" + "".join(f"2024-05-01,{quantity},{s}\n" for s in skus)
        ).encode()

    first = await import_file(
        runtime, tenant_id, source_id, "a.csv", stock("K1", "K2", quantity=1), tmp_path, processor_type=STOCK
    )
    second = await import_file(
        runtime,
        tenant_id,
        source_id,
        "b.csv",
        stock("K3", "K2", "K4", quantity=2),
        tmp_path,
        processor_type=STOCK,
        batch_rows=1,
    )

    assert (first.state, second.state, second.rows_ok) == ("imported", "imported", 3)
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(PartnerStock.sku, PartnerStock.quantity, PartnerStock.import_file_id).order_by(
                    PartnerStock.sku
                )
            )
        ).all()
    assert [(sku, int(quantity), file_id) for sku, quantity, file_id in rows] == [
        ("K1", 1, first.file_id),
        ("K2", 2, second.file_id),
        ("K3", 2, second.file_id),
        ("K4", 2, second.file_id),
    ]


async def test_a_file_a_dead_process_left_importing_is_imported_again_exactly_once(
    runtime: Runtime, tmp_path: Path
) -> None:
    tenant_id, source_id = await new_source(runtime)
    content = sales_csv(["T1", "T2", "T3"])
    file_id = await leave_pending(runtime, tenant_id, source_id, "a.csv", content)

    outcome = await import_file(runtime, tenant_id, source_id, "a.csv", content, tmp_path)

    assert (outcome.file_id, outcome.state, outcome.rows_ok, outcome.rows_with_errors) == (
        file_id,
        "imported",
        3,
        0,
    )
    assert await stored(runtime, PartnerSale) == 3


async def test_files_left_importing_are_rolled_back_and_their_rows_removed_at_start_up(
    runtime: Runtime,
) -> None:
    tenant_id, source_id = await new_source(runtime)
    file_id = await leave_pending(runtime, tenant_id, source_id, "a.csv", sales_csv(["T1", "T2"]))

    assert await discard_abandoned_imports(runtime) == 1

    assert await stored(runtime, PartnerSale) == 0
    assert await stored(runtime, ImportFile, id=file_id, state="rolledback") == 1


async def test_a_store_locked_too_long_answers_503_with_retry_after_in_each_dialect(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    async with running_app(sqlite_settings) as (app, http):
        runtime: Runtime = app.state.runtime
        tenant_id = await add_tenant(runtime, "acme")
        async with runtime.db.session() as session:
            key = (await apikeys.issue(session, runtime.box, tenant_id)).key
        client = await connect(app, http, "acme")
        holder = sqlite3.connect(str(sqlite_settings.database_url).split("///", 1)[1], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            chartmogul = await http.post("/v1/data_sources", json={"name": "x"}, auth=(key, ""))
            integration = await client.request(
                "POST", "/dataSources", json={**PULL_SOURCE, "host": "127.0.0.1"}
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    assert (chartmogul.status_code, chartmogul.headers["Retry-After"]) == (503, "5")
    assert "retry" in chartmogul.json()["message"].lower()
    assert (integration.status_code, integration.headers["Retry-After"]) == (503, "5")
    assert integration.json() == {"message": "Service Unavailable"}


async def test_an_import_in_the_serving_process_takes_turns_with_its_requests_instead_of_pausing(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PENDING_ROWS_SERVING", 500)
    monkeypatch.setattr(pipeline, "PENDING_PAUSE", 3600.0)  # one pause would outlast the test
    rows = 5_000
    async with running_app(sqlite_settings) as (app, http):
        runtime = runtime_of(app)
        assert runtime.serves_api
        await add_tenant(runtime, "acme")
        client = await connect(app, http, "acme")
        source_id = (await client.send("POST", "/dataSources", {**PULL_SOURCE, "host": "127.0.0.1"}))["id"]
        created: list[httpx.Response] = []

        async def upload() -> httpx.Response:
            return await client.request(
                "POST",
                f"/dataSources/{source_id}/importFiles",
                params={"name": "big.csv"},
                content=sales_csv([f"T{n:07d}" for n in range(rows)]),
                headers={"Content-Type": "text/csv"},
            )

        async def create(n: int) -> None:
            body = {**PULL_SOURCE, "host": "127.0.0.1", "name": f"while importing {n}"}
            created.append(await client.request("POST", "/dataSources", json=body))

        with anyio.fail_after(120):
            uploaded, *_ = await asyncio.gather(upload(), *(create(n) for n in range(8)))

    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["rowsOk"] == rows
    assert [(answer.status_code, "messageCode" in answer.text) for answer in created] == [(200, False)] * 8


def pieces_written(runtime: Runtime) -> list[int]:
    """Counts, live, the transactions that wrote partner sales: one per piece of a file imported."""
    wrote: dict[int, bool] = {}
    pieces: list[int] = []

    def executed(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PARTNER_SALES"):
            wrote[id(connection)] = True

    def committed(connection: Any) -> None:
        if wrote.pop(id(connection), False):
            pieces.append(1)

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", executed)
    event.listen(runtime.db.engine.sync_engine, "commit", committed)
    return pieces


async def import_five_thousand_sales(
    runtime: Runtime, tenant_id: int, source_id: int, path: str, folder: Path
) -> FileOutcome:
    """5,000 sales read as one batch, so that only the pipeline's pieces divide them."""
    content = sales_csv([f"T{n:05d}" for n in range(5_000)])
    return await import_file(runtime, tenant_id, source_id, path, content, folder, batch_rows=5_000)


async def test_an_import_with_no_process_serving_the_store_writes_large_pieces_and_never_pauses(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PENDING_ROWS", 100)
    monkeypatch.setattr(pipeline, "PENDING_ROWS_SERVING", 1_000)
    monkeypatch.setattr(pipeline, "PENDING_PAUSE", 3600.0)  # one pause would outlast the test
    tenant_id, source_id = await new_source(runtime)
    pieces = pieces_written(runtime)

    with anyio.fail_after(60):
        outcome = await import_five_thousand_sales(runtime, tenant_id, source_id, "alone.csv", tmp_path)

    assert not runtime.serves_api and not runtime.db.may_be_served()
    assert (outcome.state, outcome.rows_ok) == ("imported", 5_000)
    assert len(pieces) == 5


async def test_an_import_beside_a_process_serving_the_store_writes_small_pieces(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PENDING_ROWS", 100)
    monkeypatch.setattr(pipeline, "PENDING_ROWS_SERVING", 1_000)
    monkeypatch.setattr(pipeline, "PENDING_PAUSE", 0.0)
    tenant_id, source_id = await new_source(runtime)
    pieces = pieces_written(runtime)
    assert runtime.db.presence is not None

    # Another runtime serving the same store, as ``headwater serve`` would.
    async with open_runtime(runtime.settings) as server, server.serving():
        outcome = await import_five_thousand_sales(runtime, tenant_id, source_id, "beside.csv", tmp_path)

    assert (outcome.state, outcome.rows_ok) == ("imported", 5_000)
    assert len(pieces) == 50
