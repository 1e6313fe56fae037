"""Request body models that more than one dialect documents.

Documentation only: the dialects read bodies by hand and the core validates them, ignoring unknown
fields. Each dialect subclasses a model here to give it its own title, description and examples.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PullSourceFields(BaseModel):
    """A pull source's fields, as the partner and the integration API take them."""

    # The examples are seed 000's (Thalamus "Create Datasource").
    host: str = Field(
        description="Server name or address; the bucket name for S3.", examples=["test.myftp.net"]
    )
    user: str = Field(description="User name; the access key id for S3.")
    password: str | None = Field(None, description='Password; "********" keeps the stored one.')
    workingDirectory: str = Field(description="Remote folder; the key prefix for S3.", examples=["/stock"])
    processorType: Literal[25000, 25004, 25006, 25011, 25012]
    fileImportType: Literal["PARTY", "PRINCIPAL"] | None = None
    authenticationType: Literal["PASSWORD", "CERTIFICATE"]
    dataSourceType: Literal["FTP", "SFTP", "S3"]
    touchpointCode: str = Field(description="A touchpoint code of the tenant.")
    amountCalculated: bool | None = None
    port: int | None = Field(None, ge=1, le=65535)
    privateKeyFile: str | None = Field(None, description="PEM or OpenSSH private key text (CERTIFICATE).")
    passphrase: str | None = None
    region: str | None = Field(None, description="Required for S3.")
    endpointUrl: str | None = Field(None, description="S3-compatible endpoint (MinIO, Ceph).")
    tls: bool | None = Field(None, description="FTPS: FTP over TLS.")
    reprocessingDays: int | None = Field(None, ge=-1, le=36500)
    active: bool | None = None
    name: str | None = None
    filePattern: str | None = None
    excludePattern: str | None = None
    afterImport: Literal["KEEP", "MOVE", "DELETE"] | None = None
    archiveDirectory: str | None = None
    recursive: bool | None = None
    schedule: int | str | None = Field(
        None,
        description=(
            "When the source is polled: every N seconds (60 to 2678400), or a five-field cron expression "
            "in UTC; null: the installation's poll interval."
        ),
        examples=[3600, "0 3 * * *"],
    )


def with_examples(**examples: list[Any]) -> ConfigDict:
    """A model config that shows other examples for some fields, in the places of the inherited ones."""

    def replace(schema: dict[str, Any]) -> None:
        for field, values in examples.items():
            schema["properties"][field]["examples"] = values

    return ConfigDict(json_schema_extra=replace)
