"""Schedules: what a source accepts, and when it is polled next, backoff included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.ingest import schedules
from headwater.ingest.schedules import InvalidSchedule, Schedule

NOW = datetime(2026, 3, 4, 10, 17, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        (60, Schedule(interval=60)),
        ("3600", Schedule(interval=3600)),
        (31 * 24 * 3600, Schedule(interval=31 * 24 * 3600)),
        ("0 3 * * *", Schedule(cron="0 3 * * *")),
        ("  */15   * * * 1-5 ", Schedule(cron="*/15 * * * 1-5")),
    ],
)
def test_a_schedule_is_an_interval_or_a_five_field_cron_expression(given: object, expected: object) -> None:
    assert schedules.parse(given, now=NOW) == expected


@pytest.mark.parametrize(
    "given",
    [
        59,
        0,
        -60,
        31 * 24 * 3600 + 1,
        10**30,
        True,
        1.5,
        [],
        "61 * * * *",
        "0 0 30 2 *",
        "* * * *",
        "0 0 * * * *",
        "@daily",
        "٣٦٠٠",
        "x" * 101,
    ],
)
def test_anything_else_is_refused(given: object) -> None:
    with pytest.raises(InvalidSchedule):
        schedules.parse(given, now=NOW)


def test_a_stored_schedule_reads_back_as_it_was_given() -> None:
    for schedule in (Schedule(interval=900), Schedule(cron="0 3 * * *")):
        assert schedules.from_stored(schedule.stored) == schedule
    assert schedules.shown("900") == 900
    assert schedules.shown("0 3 * * *") == "0 3 * * *"
    assert schedules.shown(None) is None


def next_run(schedule: Schedule | None, failures: int = 0, backoff_max: float = 6 * 3600) -> datetime:
    return schedules.next_run(
        schedule, now=NOW, poll_interval=900, failures=failures, backoff_max=backoff_max
    )


def test_an_interval_doubles_with_each_failure_in_a_row_up_to_the_longest_wait() -> None:
    hourly = Schedule(interval=3600)
    assert next_run(hourly) == NOW + timedelta(hours=1)
    assert next_run(hourly, failures=1) == NOW + timedelta(hours=1)
    assert next_run(hourly, failures=2) == NOW + timedelta(hours=2)
    assert next_run(hourly, failures=3) == NOW + timedelta(hours=4)
    assert next_run(hourly, failures=10) == NOW + timedelta(hours=6)
    assert next_run(None, failures=2) == NOW + timedelta(seconds=1800)  # the global interval


def test_a_cron_schedule_runs_at_its_own_times_skipping_more_of_them_after_failures() -> None:
    quarterly = Schedule(cron="*/15 * * * *")
    assert next_run(quarterly) == datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    assert next_run(quarterly, failures=1) == datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
    assert next_run(quarterly, failures=2) == datetime(2026, 3, 4, 10, 45, tzinfo=UTC)
    assert next_run(quarterly, failures=3) == datetime(2026, 3, 4, 11, 15, tzinfo=UTC)
    daily = Schedule(cron="0 3 * * *")
    assert next_run(daily, failures=5) == datetime(2026, 3, 5, 3, 0, tzinfo=UTC)  # never before its time


def test_a_new_source_runs_at_once_unless_it_has_a_cron_schedule() -> None:
    assert schedules.first_run(None, now=NOW) == NOW
    assert schedules.first_run(Schedule(interval=600), now=NOW) == NOW
    assert schedules.first_run(Schedule(cron="0 12 * * 1"), now=NOW) == datetime(2026, 3, 9, 12, tzinfo=UTC)


def test_a_changed_schedule_counts_from_the_last_run() -> None:
    last = NOW - timedelta(minutes=5)
    assert schedules.rescheduled(
        Schedule(interval=600), now=NOW, last_run=last, current=None
    ) == last + timedelta(minutes=10)
    assert schedules.rescheduled(Schedule(interval=600), now=NOW, last_run=None, current=None) == NOW
    assert schedules.rescheduled(None, now=NOW, last_run=last, current=NOW) == NOW
    assert schedules.rescheduled(
        Schedule(cron="0 * * * *"), now=NOW, last_run=last, current=None
    ) == datetime(2026, 3, 4, 11, tzinfo=UTC)
