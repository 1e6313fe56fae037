"""``headwater run``: a summary as JSON, and exactly-once imports when the process is killed mid-file."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from headwater.ingest.imports import run_source
from headwater.runtime import open_runtime
from headwater.settings import Settings
from headwater.store import sources as source_store
from headwater.store.tables import ImportFile, PartnerSale, Run
from tests.conftest import SECRET_KEY, make_settings
from tests.servers import SftpServerInfo
from tests.support.tenants import make_source, make_tenancy

pytestmark = pytest.mark.servers

HEADWATER = str(Path(sys.executable).with_name("headwater"))


def sales_file(rows: int) -> bytes:
    lines = ["saleDate,transactionId,quantity,amount,partnerSkuCode"]
    lines += [
        f"2026-02-{1 + n % 28:02d},T{n:08d},{1 + n % 3},{n % 997}.25,SKU-{n % 100}" for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def environment(settings: Settings, spool: Path) -> dict[str, str]:
    spool.mkdir(exist_ok=True)
    return {
        **os.environ,
        "HEADWATER_DATABASE_URL": settings.database_url,
        "HEADWATER_SECRET_KEY": SECRET_KEY,
        "HEADWATER_ALLOW_PRIVATE_HOSTS": "true",
        "TMPDIR": str(spool),
    }


def run_command(
    settings: Settings, spool: Path, source_id: int, *options: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``headwater run SOURCE_ID --json`` in a process of its own, as an operator would type it."""
    return subprocess.run(
        [HEADWATER, "run", str(source_id), *(options or ("--json",))],
        env={**environment(settings, spool), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


async def sftp_source(settings: Settings, sftp: SftpServerInfo) -> int:
    async with open_runtime(settings) as runtime:
        tenancy = await make_tenancy(runtime)
        source = await make_source(
            runtime, tenancy, host=sftp.host, port=sftp.port, user=sftp.user, password=sftp.password
        )
        return source.id


async def counts(settings: Settings) -> tuple[int, int]:
    """Sales anyone can see (those of imported files) and imported files."""
    async with open_runtime(settings) as runtime, runtime.db.session() as session:
        sales = await session.scalar(
            select(func.count())
            .select_from(PartnerSale)
            .join(ImportFile, ImportFile.id == PartnerSale.import_file_id)
            .where(ImportFile.state == "imported")
        )
        imported = await session.scalar(
            select(func.count()).select_from(ImportFile).where(ImportFile.state == "imported")
        )
        return int(sales or 0), int(imported or 0)


async def stored_sales(settings: Settings) -> int:
    """Every sale row in the database, seen or not."""
    async with open_runtime(settings) as runtime, runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(PartnerSale)) or 0)


async def run_outcomes(settings: Settings) -> list[tuple[str, str | None]]:
    async with open_runtime(settings) as runtime, runtime.db.session() as session:
        rows = await session.execute(select(Run.outcome, Run.message).order_by(Run.id))
        return [(outcome, message) for outcome, message in rows]


async def test_run_prints_what_each_file_gave_as_json(tmp_path: Path, sftp_server: SftpServerInfo) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    source_id = await sftp_source(settings, sftp_server)
    sftp_server.put("in/sales.csv", sales_file(3) + b"bad-date,X,1,1,SKU\n")

    done = run_command(settings, tmp_path / "spool", source_id)

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and done.stderr == ""  # one JSON object, no progress
    summary = json.loads(done.stdout)
    assert set(summary) == {"runId", "sourceId", "outcome", "message", "filesSeen", "files"}
    assert summary["outcome"] == "succeeded"
    [file] = summary["files"]
    assert (file["path"], file["state"], file["rows"], file["rowsOk"], file["rowsWithErrors"]) == (
        "sales.csv",
        "imported",
        4,
        3,
        1,
    )


async def test_a_run_of_an_unknown_source_fails_clearly(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    async with open_runtime(settings):
        pass

    done = run_command(settings, tmp_path / "spool", 999)

    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "NotFound"


async def test_a_process_killed_mid_file_leaves_nothing_and_the_next_run_imports_every_row_once(
    tmp_path: Path, sftp_server: SftpServerInfo
) -> None:
    database = tmp_path / "h.db"
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{database}")
    source_id = await sftp_source(settings, sftp_server)
    rows = 400_000
    sftp_server.put("in/sales.csv", sales_file(rows))
    wal = Path(f"{database}-wal")
    wal_before = wal.stat().st_size if wal.exists() else 0

    worker = subprocess.Popen(
        [HEADWATER, "run", str(source_id), "--json"],
        env=environment(settings, tmp_path / "spool"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Rows of the file reaching the write-ahead log: the import is mid-file.
        deadline = time.monotonic() + 120
        while not (wal.exists() and wal.stat().st_size > wal_before + 2_000_000):
            assert worker.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=60)

    assert await counts(settings) == (0, 0)

    again = run_command(settings, tmp_path / "spool", source_id)
    assert again.returncode == 0, again.stderr
    assert await counts(settings) == (rows, 1)
    assert await stored_sales(settings) == rows  # what the killed process wrote is gone
    assert await run_outcomes(settings) == [
        ("failed", "interrupted: the process running it stopped"),
        ("succeeded", None),
    ]
    third_run = run_command(settings, tmp_path / "spool", source_id)
    assert third_run.returncode == 0, third_run.stderr
    third = json.loads(third_run.stdout)
    assert [f["state"] for f in third["files"]] == ["skipped"]
    assert await counts(settings) == (rows, 1)


async def test_a_run_reports_bytes_as_a_file_downloads_and_rows_as_it_imports(
    tmp_path: Path, sftp_server: SftpServerInfo
) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    source_id = await sftp_source(settings, sftp_server)
    rows = 35_000  # four batches, and a download of many chunks written from a worker thread
    data = sales_file(rows)
    sftp_server.put("in/sales.csv", data)
    events: list[tuple[str, dict[str, Any], int]] = []

    async with open_runtime(settings) as runtime:
        async with runtime.db.session() as session:
            tenant_id = (await source_store.get_for_operator(session, source_id)).tenant_id
        summary = await run_source(
            runtime,
            tenant_id,
            source_id,
            trigger="cli",
            progress=lambda event, body: events.append((event, body, threading.get_ident())),
        )

    assert summary.outcome == "succeeded"
    assert {thread for _, _, thread in events} == {threading.get_ident()}  # always on the loop's thread
    names = [event for event, _, _ in events]
    assert names[:2] == ["planned", "file_started"] and names[-1] == "file_finished"
    downloaded = [body for event, body, _ in events if event == "download_progress"]
    read = [body["rows"] for event, body, _ in events if event == "rows_progress"]
    assert names.index("rows_progress") > max(
        i for i, name in enumerate(names) if name == "download_progress"
    )
    assert {(body["path"], body["total"]) for body in downloaded} == {("sales.csv", len(data))}
    done = [body["bytes"] for body in downloaded]
    assert done == sorted(done) and done[-1] == len(data)
    assert read == sorted(read) and read[-1] == rows


async def test_run_shows_bytes_and_rows_with_their_rates_on_a_terminal(
    tmp_path: Path, sftp_server: SftpServerInfo
) -> None:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    source_id = await sftp_source(settings, sftp_server)
    sftp_server.put("in/sales.csv", sales_file(60_000))

    done = run_command(
        settings,
        tmp_path / "spool",
        source_id,
        "--database-url",
        settings.database_url,
        TTY_COMPATIBLE="1",
        TTY_INTERACTIVE="1",
        COLUMNS="160",
    )

    assert done.returncode == 0, done.stderr
    # The live display's frames: bytes of the total, rows read with their rate (a download of one
    # chunk has no rate to show).
    assert re.search(r"[\d.]+/2\.2 MB", done.stdout)
    assert re.search(r"[\d,]+ rows", done.stdout) and "rows/s" in done.stdout
