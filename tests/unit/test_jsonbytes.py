"""JSON answers written by orjson are the bytes the standard library would write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from headwater import jsonbytes


def standard(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Zoë \"quoted\" \\ back\nslash\t\x01\x7f\u2028", "id": 2**63 - 1, "none": None},
        [{"amount": 9.5, "quantity": 3, "total": 0.30000000000000004, "big": 1.2345678901234568e17}],
        {"nested": {"list": [True, False, None, -0.0, 12345.678]}, "empty": [], "obj": {}},
    ],
)
def test_answers_are_the_standard_librarys_bytes(data: Any) -> None:
    assert jsonbytes.dumps(data) == standard(data)


@pytest.mark.parametrize("data", [{"huge": 2**70}, {1: "a key that is no text"}])
def test_what_orjson_refuses_is_written_as_before(data: Any) -> None:
    assert jsonbytes.dumps(data) == standard(data)


def test_a_lone_surrogate_still_cannot_be_written() -> None:
    with pytest.raises(UnicodeEncodeError):
        jsonbytes.dumps({"broken": "\ud800"})
