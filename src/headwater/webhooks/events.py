"""The event types an endpoint may subscribe to, and the envelope every payload shares."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from headwater.clock import iso_millis

RUN_SUCCEEDED = "run.succeeded"
RUN_FAILED = "run.failed"
FILE_IMPORTED = "file.imported"
FILE_REJECTED_ROWS = "file.rejected_rows"
FILE_FAILED = "file.failed"
SOURCE_FAILING = "source.failing"
SOURCE_RECOVERED = "source.recovered"
SOURCE_HOST_KEY_CHANGED = "source.host_key_changed"

EVENT_TYPES: tuple[str, ...] = (
    RUN_SUCCEEDED,
    RUN_FAILED,
    FILE_IMPORTED,
    FILE_REJECTED_ROWS,
    FILE_FAILED,
    SOURCE_FAILING,
    SOURCE_RECOVERED,
    SOURCE_HOST_KEY_CHANGED,
)
ALL = "*"

# A source is "failing" at its third failed run in a row (data_sources.failure_count).
FAILING_AFTER = 3
# file.rejected_rows carries this many of the file's row errors; the rest are in the API.
ERRORS_SHOWN = 20


def subscribed(events: list[str], event_type: str) -> bool:
    return ALL in events or event_type in events


def body(event_type: str, at: datetime, data: dict[str, Any]) -> str:
    """The JSON text that is signed and sent: ``{"type", "timestamp", "data"}``."""
    return json.dumps(
        {"type": event_type, "timestamp": iso_millis(at), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
