"""The table of source fields is the one source of validation, answers and OpenAPI schemas."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from headwater import source_fields, sources
from headwater.api import integration, partner
from headwater.api.app import create_app
from headwater.errors import ValidationFailed
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.store.tables import DataSource
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    tmp = Path(tmp_path_factory.mktemp("openapi"))
    settings = make_settings(tmp, f"sqlite+aiosqlite:///{tmp / 'headwater.db'}")
    return create_app(settings).openapi(), integration.create_app(settings).openapi()


def names(fields: tuple[source_fields.SourceField, ...]) -> list[str]:
    return [f.name for f in fields]


def test_every_field_names_a_column_of_the_store() -> None:
    columns = set(DataSource.__table__.c.keys())
    assert [f.name for f in source_fields.FIELDS if f.column not in columns] == []


def test_the_validated_settings_have_one_attribute_per_writable_field() -> None:
    attributes = {f.name for f in dataclasses.fields(sources.PullSourceSettings)} - {"kept_secrets"}
    assert attributes == {sources.attribute(f) for f in source_fields.WRITABLE}


def test_the_partner_answer_shows_the_contract_fields_in_its_order_then_headwaters() -> None:
    assert partner.DATASOURCE_FIELDS[: len(source_fields.CONTRACT_ANSWER_ORDER)] == (
        source_fields.CONTRACT_ANSWER_ORDER
    )
    assert list(partner.DATASOURCE_FIELDS) == names(source_fields.PARTNER_FIELDS)


def test_the_partner_document_describes_exactly_the_tables_partner_fields(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    root, _ = documents
    schema = root["components"]["schemas"]["PartnerDatasource"]
    assert list(schema["properties"]) == names(source_fields.PARTNER_FIELDS)
    body = root["paths"]["/api/v4/partner/datasources"]["post"]["requestBody"]["content"]["application/json"]
    assert list(body["schema"]["properties"]) == names(source_fields.WRITABLE)


def test_the_chartmogul_document_describes_exactly_the_tables_chartmogul_fields(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    root, _ = documents
    schema = root["components"]["schemas"]["ChartMogulDataSource"]
    assert schema["required"] == [name for name, _ in source_fields.CHARTMOGUL_FIELDS]


def test_the_integration_document_describes_exactly_the_tables_fields(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, prod = documents
    assert list(prod["components"]["schemas"]["DataSource"]["properties"]) == names(
        source_fields.INTEGRATION_FIELDS
    )
    body = prod["paths"]["/dataSources"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert list(body["properties"]) == names(source_fields.WRITABLE)
    assert body["required"] == [f.name for f in source_fields.WRITABLE if f.required]


def test_neither_document_is_empty(documents: tuple[dict[str, Any], dict[str, Any]]) -> None:
    for document in documents:
        assert document["paths"] and document["components"]["schemas"]


async def test_validation_problems_come_in_the_contracts_field_order() -> None:
    # Every writable field wrong at once (the touchpoint code too, so no query is needed).
    wrong: dict[str, Any] = {f.name: ["not", "a", "value"] for f in source_fields.WRITABLE}
    wrong["authenticationType"] = "CERTIFICATE"
    wrong["dataSourceType"] = "FTP"
    wrong["afterImport"] = "MOVE"
    with pytest.raises(ValidationFailed) as failed:
        await sources.validate_pull_source(
            cast(AsyncSession, None), 1, wrong, hosts=HostPolicy(allow_private=True)
        )
    found = [p.field for p in failed.value.problems]
    assert found == sorted(found, key=source_fields.POSITION.__getitem__)
    assert found[:4] == ["host", "user", "password", "workingDirectory"]
    assert {"authenticationType", "tls", "schedule", "archiveDirectory"} <= set(found)
