"""Request bodies read as JSON, alike in every dialect; each dialect answers ``InvalidJson`` its own way."""

from __future__ import annotations

import json
from typing import Any

from headwater.errors import InvalidJson


def json_value(raw: bytes) -> Any:
    """The body's JSON value; ``InvalidJson`` if it is not JSON or nests too deep to read."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidJson("the body is not valid JSON") from exc


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; ``InvalidJson`` if it is not JSON or another kind of JSON value."""
    value = json_value(raw)
    if not isinstance(value, dict):
        raise InvalidJson("the body must be a JSON object", not_an_object=True)
    return value
