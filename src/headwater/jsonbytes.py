"""JSON as UTF-8 bytes, the way every dialect writes it: compact, non-ASCII characters as themselves.

orjson writes the same bytes as ``json.dumps(data, ensure_ascii=False, separators=(",", ":"))`` several
times faster, with one difference: a float in exponent notation has no padded exponent (``1e-6``
rather than ``1e-06``, the same number). What orjson refuses (a whole number beyond 64
bits, a key that is not text, a lone surrogate) goes through the standard library as before, so an
answer that could be written before still is, and one that could not still fails the same way.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


__all__ = ["dumps", "loads"]
