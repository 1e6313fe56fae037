"""A JSON answer written by ``headwater.jsonbytes``: the bytes ``JSONResponse`` would send, written faster.

Handlers that return a dict make FastAPI walk it with ``jsonable_encoder`` before ``json.dumps``; on a
list of a thousand rows that walk costs more than the query. Handlers on a hot path build plain JSON
values themselves and answer with this instead.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from headwater import jsonbytes


class JsonBytesResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return jsonbytes.dumps(content)


__all__ = ["JsonBytesResponse"]
