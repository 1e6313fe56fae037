"""A rejected row as a dry run's answer shows it, alike in the partner and the integration dialect."""

from __future__ import annotations

from typing import Any

from headwater.domain import RowError


def row_error_json(error: RowError) -> dict[str, Any]:
    """The row's line and column, why it was rejected, and its text (cut when ``rawTruncated``)."""
    return {
        "line": error.line,
        "column": error.column,
        "code": error.code,
        "message": error.message,
        "rawLine": error.raw,
        "rawTruncated": error.raw_truncated,
    }
