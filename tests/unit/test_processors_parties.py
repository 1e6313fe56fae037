"""Persons (25000) and companies (25004), keyed by externalId (PARTY) or principal (PRINCIPAL)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from headwater.domain import ProcessorType
from headwater.errors import FileUnreadable

from .processor_support import codes, read, write_csv, write_xlsx

PERSON = ProcessorType.PERSON
COMPANY = ProcessorType.COMPANY


def test_party_persons_are_keyed_by_external_id(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "externalId,firstName,lastName,email,birthDate,gender",
            "P1,Ada,Lovelace,ada@example.com,1915-12-10,F",
            ",No,Key,nokey@example.com,,",
            "P3,Bad,Date,,10/12/1815,",
        ],
    )
    _, records, errors = read(path, PERSON)
    assert [(r["key"], r["external_id"], r["principal"], r["birth_date"]) for r in records] == [
        ("P1", "P1", "ada@example.com", date(1915, 12, 10))
    ]
    assert codes(errors) == [(3, "externalId", "MissingValue"), (4, "birthDate", "InvalidDate")]


def test_party_files_need_the_external_id_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["email,firstName", "a@example.com,A"])
    with pytest.raises(FileUnreadable) as caught:
        read(path, PERSON)
    assert caught.value.code == "MissingColumn"
    assert "externalId" in caught.value.message


def test_principal_persons_are_keyed_by_the_first_principal_they_have(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            "principal,email,documentType,documentNumber,cellphone",
            "login1,a@example.com,DNI,1,+100",
            ",b@example.com,DNI,2,+200",
            ",,DNI,3,+300",
            ",,DNI,,+400",
            ",,,,",
            ",,DNI,,",
        ],
    )
    _, records, errors = read(path, PERSON, file_import_type="PRINCIPAL")
    assert [r["key"] for r in records] == ["login1", "b@example.com", "DNI:3", "+400"]
    assert codes(errors) == [(7, "principal", "MissingPrincipal")]


def test_principal_files_need_a_column_a_principal_can_come_from(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["externalId,firstName,documentType", "P1,A,DNI"])
    with pytest.raises(FileUnreadable) as caught:
        read(path, PERSON, file_import_type="PRINCIPAL")
    assert caught.value.code == "MissingColumn"
    assert "principal or email or documentType + documentNumber or cellphone" in caught.value.message


def test_companies_are_keyed_by_external_id_in_party_mode(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["ExternalId", "Name", "TaxId", "Phone", "Country"],
            ["C1", "Acme", "B-123", "+34 600", "ES"],
            [None, "Nobody", None, None, None],
        ],
    )
    file_type, records, errors = read(path, COMPANY)
    assert file_type == "EXCEL"
    assert [(r["key"], r["name"], r["tax_id"], r["phone"], r["country"]) for r in records] == [
        ("C1", "Acme", "B-123", "+34 600", "ES")
    ]
    assert codes(errors) == [(3, "externalId", "MissingValue")]


def test_companies_in_principal_mode_may_be_known_by_their_phone(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["name,email,phone", "Acme,acme@example.com,+1", "Beta,,+2", "Gamma,,"])
    _, records, errors = read(path, COMPANY, file_import_type="PRINCIPAL")
    assert [(r["name"], r["key"]) for r in records] == [("Acme", "acme@example.com"), ("Beta", "+2")]
    assert codes(errors) == [(4, "principal", "MissingPrincipal")]
