"""Peak memory and time of reading hostile spreadsheets and CSVs, and what the defences cost good files.

    .venv/bin/python benchmarks/hostile_files.py [--rows 200000] [--bomb-rows 6000000] [--calamine]

Builds, in a scratch directory: the 1.6 KB workbook whose cells reach XFD1048576 (with and without a
``<dimension>``), a zip bomb of millions of identical rows, a well-formed N-row sales workbook and the
same rows as CSV: plain, every value quoted, and Windows-1252. Each file is read through the sales
processor (parse and validate, as the import engine does) in a fresh process, which prints its peak
RSS, the peak RSS of the workbook reader it started, the time, and the outcome. ``--calamine`` also
reads each workbook the way headwater did before (python-calamine, whole sheet in memory), for the
baseline (python-calamine must be installed: headwater no longer depends on it); that reader may
abort its process, which is the point. Not a test: figures depend on the
machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from benchmarks.memory import peak_rss  # noqa: E402

HEADER = ["saleDate", "transactionId", "quantity", "amount", "partnerSkuCode", "currency", "salesOrigin"]


def sales_rows(rows: int) -> list[list[str]]:
    rnd = random.Random(7)
    return [
        [
            dt.date(2024, 1 + i % 12, 1 + i % 28).isoformat(),
            f"T{i:010d}",
            str(1 + i % 7),
            str(rnd.randint(100, 99_999) / 100),
            f"SKU-{i % 5000:05d}",
            "EUR",
            f"STORE \u20ac{i % 40}",
        ]
        for i in range(rows)
    ]


def build(directory: Path, rows: int, bomb_rows: int) -> dict[str, Path]:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from tests.support.workbooks import far_corner_xlsx, zip_bomb_xlsx

    files = {
        "xfd-declared.xlsx": far_corner_xlsx(directory / "xfd-declared.xlsx", dimension=True),
        "xfd-undeclared.xlsx": far_corner_xlsx(directory / "xfd-undeclared.xlsx", dimension=False),
        "bomb.xlsx": zip_bomb_xlsx(directory / "bomb.xlsx", bomb_rows),
    }
    data = sales_rows(rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for row in data:
        sheet.append(row)
    files["sales.xlsx"] = directory / "sales.xlsx"
    workbook.save(files["sales.xlsx"])
    lines = [",".join(HEADER)] + [",".join(row) for row in data]
    quoted = [",".join(HEADER)] + [",".join(f'"{value}"' for value in row) for row in data]
    for name, text, encoding in (
        ("sales.csv", lines, "utf-8"),
        ("sales-quoted.csv", quoted, "utf-8"),
        ("sales-cp1252.csv", lines, "cp1252"),
    ):
        files[name] = directory / name
        files[name].write_bytes(("\n".join(text) + "\n").encode(encoding))
    return files


def read_with_headwater(path: Path) -> dict[str, object]:
    from headwater.domain import ProcessorType
    from headwater.errors import FileUnreadable
    from headwater.ingest.processors import processor_for
    from headwater.ingest.processors.base import ProcessOptions

    try:
        _, batches = processor_for(ProcessorType.PARTNER_SALES).read(path, ProcessOptions())
        rows = errors = 0
        for batch in batches:
            rows += batch.records.num_rows
            errors += len(batch.errors)
        return {"outcome": f"{rows} rows, {errors} row errors"}
    except FileUnreadable as exc:
        return {"outcome": f"failed: {exc.code}"}


def read_with_calamine(path: Path) -> dict[str, object]:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    return {"outcome": f"{sum(1 for _ in sheet.iter_rows())} rows"}


def watch_readers(peaks: dict[int, float], stop: threading.Event) -> None:
    """Sample the peak RSS of the workbook readers this process starts, until told to stop."""
    me = psutil.Process()
    while not stop.wait(0.01):
        for reader in me.children():
            try:
                peaks[reader.pid] = max(peaks.get(reader.pid, 0.0), peak_rss(reader.pid))
            except (OSError, ValueError):
                pass  # ended between the listing and the read


def child(reader: str, path: Path) -> None:
    peaks: dict[int, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch_readers, args=(peaks, stop), daemon=True)
    watcher.start()
    started = time.perf_counter()
    result = (read_with_calamine if reader == "calamine" else read_with_headwater)(path)
    result["seconds"] = time.perf_counter() - started
    stop.set()
    watcher.join()
    result["rss_mb"] = peak_rss()
    result["reader_rss_mb"] = max(peaks.values(), default=0.0)
    print(json.dumps(result))


def measure(reader: str, path: Path) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", reader, str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return f"process died (status {done.returncode}) after {time.perf_counter() - started:.1f} s"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    reader_rss = f"reader {result['reader_rss_mb']:6.0f} MB" if reader == "headwater" else ""
    return (
        f"{result['seconds']:7.2f} s  peak {result['rss_mb']:6.0f} MB  {reader_rss:<17} {result['outcome']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--bomb-rows", type=int, default=6_000_000)
    parser.add_argument("--calamine", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="headwater-bench-") as scratch:
        files = build(Path(scratch), args.rows, args.bomb_rows)
        for name, path in files.items():
            print(f"{name:<20} {path.stat().st_size / 1e6:8.2f} MB")
            print(f"  {'headwater':<10} {measure('headwater', path)}")
            if args.calamine and name.endswith(".xlsx"):
                print(f"  {'calamine':<10} {measure('calamine', path)}")


if __name__ == "__main__":
    main()
