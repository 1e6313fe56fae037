"""Physical locations (25006)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from headwater.domain import ProcessorType

from .processor_support import codes, read, write_csv

LOCATIONS = ProcessorType.PHYSICAL_LOCATION


def test_locations_are_read_with_their_coordinates(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "code;name;latitude;longitude;companyCode",
            "L1;Depot;40.4168;-3,7038;C1",
            "L2;Nowhere;;;",
        ],
    )
    _, records, errors = read(path, LOCATIONS)
    assert errors == []
    assert [(r["code"], r["latitude"], r["longitude"], r["company_code"]) for r in records] == [
        ("L1", 40.4168, -3.7038, "C1"),
        ("L2", None, None, None),
    ]
    assert Decimal(str(records[0]["longitude"])) == Decimal("-3.7038")


def test_bad_codes_and_coordinates_are_rejected(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        ["code,latitude,longitude", ",1,1", "L2,91,0", "L3,0,-180.5", "L4,north,0", "L5,-90,180"],
    )
    _, records, errors = read(path, LOCATIONS)
    assert [r["code"] for r in records] == ["L5"]
    assert codes(errors) == [
        (2, "code", "MissingValue"),
        (3, "latitude", "OutOfRange"),
        (4, "longitude", "OutOfRange"),
        (5, "latitude", "InvalidNumber"),
    ]
