"""Progress reports: throttled while a file goes, always once at its end, always on the loop's thread."""

from __future__ import annotations

import io
import threading

import anyio

from headwater.ingest.progress import ReportingSink, RowsReporter, Throttle, on_loop_thread


def test_a_throttle_lets_the_first_report_through_then_waits_for_its_interval() -> None:
    throttle = Throttle(interval=3600)
    assert [throttle.due() for _ in range(5)] == [True, False, False, False, False]
    assert all(Throttle(interval=0).due() for _ in range(3))


def test_a_reporting_sink_writes_everything_and_reports_at_most_once_per_interval() -> None:
    target = io.BytesIO()
    reports: list[int] = []
    sink = ReportingSink(target, reports.append, interval=3600)

    for _ in range(100):
        sink.write(b"x" * 1000)

    assert target.getvalue() == b"x" * 100_000 and sink.written == 100_000
    assert reports == [1000]


def test_rows_are_reported_when_due_and_once_more_at_the_end() -> None:
    reports: list[int] = []
    rows = RowsReporter(reports.append, interval=3600)

    for count in range(10_000, 50_001, 10_000):
        rows.rows(count)
    rows.done(50_000)
    rows.done(50_000)

    assert reports == [10_000, 50_000]


def test_a_file_of_one_batch_is_reported_once() -> None:
    reports: list[int] = []
    rows = RowsReporter(reports.append, interval=3600)
    rows.rows(7)
    rows.done(7)
    assert reports == [7]


async def test_a_report_from_a_worker_thread_runs_on_the_loop_thread() -> None:
    seen: list[tuple[int, int]] = []
    report = on_loop_thread(lambda value: seen.append((value, threading.get_ident())))

    await anyio.to_thread.run_sync(report, 5)
    report(6)

    assert seen == [(5, threading.get_ident()), (6, threading.get_ident())]
