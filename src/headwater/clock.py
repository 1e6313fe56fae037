"""Time, in one place, so that tests can see what the code sees."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything headwater stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def epoch_millis(value: datetime | None) -> int | None:
    return None if value is None else int(as_utc(value).timestamp() * 1000)


def iso_millis(value: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and a ``Z``, as ChartMogul writes times, and every answer but the
    partner dialect's (``epoch_millis``) and the command line."""
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def minutes_utc(value: datetime) -> str:
    """A time for people to read: to the minute, in UTC, saying so."""
    text = as_utc(value).isoformat(timespec="minutes")  # no strftime: the console writes hundreds a page
    return f"{text[:10]} {text[11:16]} UTC"
