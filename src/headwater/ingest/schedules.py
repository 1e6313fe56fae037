"""When a source is polled: its own schedule (an interval or a cron expression) or the global interval.

A schedule is stored as text: an interval as its number of seconds (``"3600"``), a cron expression as
written (``"0 3 * * *"``, five fields, evaluated in UTC). After failed runs in a row the wait grows:
the schedule's period doubles with each failure, up to ``HEADWATER_RUN_BACKOFF_MAX``. A cron
schedule's period is the gap between its next two times, and it still runs only at its own times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

MIN_INTERVAL = 60
MAX_INTERVAL = 31 * 24 * 3600
MAX_CRON_LENGTH = 100


class InvalidSchedule(ValueError):
    """A schedule that is neither an interval in bounds nor a five-field cron expression that fires."""


@dataclass(frozen=True)
class Schedule:
    interval: int | None = None
    cron: str | None = None

    @property
    def stored(self) -> str:
        return str(self.interval) if self.interval is not None else str(self.cron)

    @property
    def shown(self) -> int | str:
        """As the APIs show it: seconds as a number, a cron expression as text."""
        return self.interval if self.interval is not None else str(self.cron)

    def next_after(self, moment: datetime) -> datetime:
        if self.interval is not None:
            return moment + timedelta(seconds=self.interval)
        return _cron_times(str(self.cron), moment, 1)[0]

    def period_after(self, moment: datetime) -> timedelta:
        if self.interval is not None:
            return timedelta(seconds=self.interval)
        first, second = _cron_times(str(self.cron), moment, 2)
        return second - first


def _cron_times(expression: str, start: datetime, count: int) -> list[datetime]:
    times = croniter(expression, start)
    return [times.get_next(datetime) for _ in range(count)]


def _interval(seconds: int) -> Schedule:
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise InvalidSchedule(f"an interval must be from {MIN_INTERVAL} to {MAX_INTERVAL} seconds")
    return Schedule(interval=seconds)


def parse(value: object, *, now: datetime) -> Schedule | None:
    """The schedule a request gives; None (or empty text) means the global interval."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidSchedule("must be a number of seconds or a cron expression")
    if isinstance(value, int):
        return _interval(value)
    if not isinstance(value, str) or len(value) > MAX_CRON_LENGTH:
        raise InvalidSchedule("must be a number of seconds or a cron expression")
    text = value.strip()
    if text.isascii() and text.isdigit():
        return _interval(int(text))
    fields = text.split()
    if len(fields) != 5 or not text.isascii():
        raise InvalidSchedule("a cron expression has five fields: minute hour day month weekday")
    cron = " ".join(fields)
    try:
        if not croniter.is_valid(cron):
            raise InvalidSchedule("is not a valid cron expression")
        _cron_times(cron, now, 2)  # one that never fires (February 30th) fails here
    except (CroniterBadCronError, CroniterBadDateError, CroniterError, ValueError, OverflowError) as exc:
        raise InvalidSchedule("is not a cron expression that fires") from exc
    return Schedule(cron=cron)


def from_stored(text: str | None) -> Schedule | None:
    if text is None:
        return None
    if text.isdigit():
        return Schedule(interval=int(text))
    return Schedule(cron=text)


def shown(text: str | None) -> int | str | None:
    schedule = from_stored(text)
    return None if schedule is None else schedule.shown


def first_run(schedule: Schedule | None, *, now: datetime) -> datetime:
    """When a new source is first polled: at once, except on a cron schedule (its next time)."""
    if schedule is not None and schedule.cron is not None:
        return schedule.next_after(now)
    return now


def rescheduled(
    schedule: Schedule | None, *, now: datetime, last_run: datetime | None, current: datetime | None
) -> datetime | None:
    """The next poll after a source's schedule changed."""
    if schedule is None:
        return current  # back on the global interval: the poll already planned stands
    if schedule.cron is not None:
        return schedule.next_after(now)
    return now if last_run is None else schedule.next_after(last_run)


def next_run(
    schedule: Schedule | None,
    *,
    now: datetime,
    poll_interval: float,
    failures: int,
    backoff_max: float,
) -> datetime:
    """The next poll after a run that ended at ``now``, ``failures`` failed runs in a row included."""
    period = timedelta(seconds=poll_interval) if schedule is None else schedule.period_after(now)
    wait = period * (2 ** max(failures - 1, 0)) if failures else period
    wait = min(wait, max(timedelta(seconds=backoff_max), period))
    if schedule is None or schedule.cron is None:
        return now + wait
    # A cron schedule runs only at its own times: the first one once the wait is over.
    return schedule.next_after(now + wait - period)


__all__ = [
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "InvalidSchedule",
    "Schedule",
    "first_run",
    "from_stored",
    "next_run",
    "parse",
    "rescheduled",
    "shown",
]
