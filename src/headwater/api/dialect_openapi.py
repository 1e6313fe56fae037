"""What the partner API (``/api/v4``) and the data sources API (``/v1``) really answer, in ``/openapi.json``.

FastAPI knows neither dialect's answers: its handlers return plain dicts, and it would describe a 422
``HTTPValidationError`` that neither dialect ever sends (each route class turns validation errors into
its own answers). This module writes each operation's success body and its errors in the dialect's own
shape. The bodies are built from the tables the answers are made from: both data sources from the table
of source fields (``source_fields``; nullability from the store's columns), the ChartMogul data source's
optional parts from ``chartmogul.view``'s constants and ``Extras``. The tests check real answers against the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Integer, Numeric, String, inspect

from headwater import source_fields
from headwater.api import chartmogul, partner
from headwater.api.integration_openapi import CONNECTION_TEST_SCHEMA
from headwater.api.schemas import field_answer_schema
from headwater.domain import RunOutcome
from headwater.ingest import reimports
from headwater.store.tables import DataSource, ImportErrorRow, ImportFile, Run

PARTNER_PREFIX = partner.PREFIX + "/"
CHARTMOGUL_PREFIX = "/v1/"

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    kind = schema["type"]
    kinds = kind if isinstance(kind, list) else [kind]
    return {**schema, "type": [*kinds, "null"]} if "null" not in kinds else schema


def column_of(model: type[Any], name: str) -> Column[Any]:
    column: Column[Any] = inspect(model).columns[name]
    return column


def column_schema(column: Column[Any], time: Schema) -> Schema:
    """A column's value as JSON: its type, and null if the column may hold it; times as ``time``."""
    kind = column.type
    schema: Schema
    if isinstance(kind, DateTime):
        schema = dict(time)
    elif isinstance(kind, Boolean):
        schema = {"type": "boolean"}
    elif isinstance(kind, Integer):
        schema = {"type": "integer"}
    elif isinstance(kind, Numeric):
        schema = {"type": "number"}
    elif isinstance(kind, String):
        schema = {"type": "string"}
    else:
        raise TypeError(f"no JSON type for column {column.key} of type {kind!r}")
    return nullable(schema) if column.nullable else schema


def object_schema(description: str, properties: Mapping[str, Schema], *, required: bool = True) -> Schema:
    schema: Schema = {"type": "object", "description": description, "properties": dict(properties)}
    if required:
        schema["required"] = list(properties)
    return schema


def value_schema(value: Any) -> Schema:
    """The schema of a constant JSON value (the ChartMogul settings every source shows)."""
    if isinstance(value, Mapping):
        return object_schema("", {key: value_schema(item) for key, item in value.items()})
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, str):
        return {"type": "string"}
    if value is None:
        return {"type": ["integer", "null"]}
    raise TypeError(f"no JSON type for {value!r}")


# --- the partner API ----------------------------------------------------------------------------

EPOCH_MILLIS: Schema = {"type": "integer", "description": "Epoch milliseconds."}


def _columns_schema(
    model: type[Any], fields: Mapping[str, str], description: str, overrides: Mapping[str, Schema] = {}
) -> Schema:
    properties = {
        name: overrides.get(name) or column_schema(column_of(model, column), EPOCH_MILLIS)
        for name, column in fields.items()
    }
    return object_schema(description, properties)


def partner_datasource_schema() -> Schema:
    """The partner's datasource: the table's partner fields, null wherever the store may hold none."""
    properties = {
        spec.name: field_answer_schema(
            spec, EPOCH_MILLIS, nullable=spec.derived or bool(column_of(DataSource, spec.column).nullable)
        )
        for spec in source_fields.PARTNER_FIELDS
    }
    return object_schema(
        "A datasource: the contract's fields, then headwater's; secrets masked, times in epoch ms.",
        properties,
    )


def _optional_text(*names: str) -> dict[str, Schema]:
    return {name: {"type": ["string", "null"]} for name in names}


PARTNER_CONTEXT = object_schema(
    "Links, activities and the caller's profile.",
    {
        "links": {
            "type": "array",
            "items": object_schema("", {"ref": {"type": "string"}, "href": {"type": "string"}}),
        },
        "activities": {"type": "array", "items": {}},
        "simpleProfile": object_schema(
            "The logged-in partner; all null and me false when no partner is logged in.",
            {
                **_optional_text("firstname", "lastname", "email", "shortName", "longName"),
                "me": {"type": "boolean"},
                "urlAvatar": {"type": "string"},
            },
        ),
    },
)
PARTNER_IMPORT = _columns_schema(
    ImportFile,
    {
        "id": "id",
        "name": "name",
        "path": "path",
        "fileType": "file_type",
        "state": "state",
        "rows": "rows",
        "rowsOk": "rows_ok",
        "rowsWithErrors": "rows_with_errors",
        "rowsSkipped": "rows_skipped",
        "rowsRollbacked": "rows_rollbacked",
        "partnerDatasourceId": "data_source_id",
        "size": "size",
        "error": "error",
        "startedAt": "started_at",
        "finishedAt": "finished_at",
    },
    "A file a datasource has seen, and what importing it gave.",
)
PARTNER_IMPORT_ERROR = _columns_schema(
    ImportErrorRow,
    {
        "line": "line",
        "column": "column",
        "code": "code",
        "message": "message",
        "rawLine": "raw_line",
        "rawTruncated": "raw_truncated",
    },
    "Why one row of a file was rejected, and the row as the file held it (its first 4 KB).",
)
PARTNER_RUN = _columns_schema(
    Run,
    {
        "id": "id",
        "partnerDatasourceId": "data_source_id",
        "trigger": "trigger",
        "status": "outcome",
        "queuedAt": "queued_at",
        "startedAt": "started_at",
        "finishedAt": "finished_at",
        "files": "files_imported",
        "filesSeen": "files_seen",
        "filesImported": "files_imported",
        "filesSkipped": "files_skipped",
        "filesFailed": "files_failed",
        "rowsOk": "rows_ok",
        "rowsWithErrors": "rows_with_errors",
        "errorCode": "error_code",
        "errorMessage": "message",
        "message": "message",
    },
    "A run: what it found and imported, and why it failed (errorCode, errorMessage: null unless it went wrong).",
    {"status": {"type": "string", "enum": [str(o) for o in RunOutcome]}},
)


def _partner_connection_test() -> Schema:
    """The integration API's connection test, with the partner dialect's times (epoch ms)."""
    files = CONNECTION_TEST_SCHEMA["properties"]["files"]
    file_properties = {**files["items"]["properties"], "modified": nullable(EPOCH_MILLIS)}
    nullable_fields = ("code", "message", "hostKeyFingerprint")
    properties = {
        name: nullable(schema) if name in nullable_fields else schema
        for name, schema in CONNECTION_TEST_SCHEMA["properties"].items()
    }
    properties["files"] = {**files, "items": object_schema("", file_properties)}
    return object_schema("ok, or the failure's code and message.", properties)


def _with_context(description: str, **members: Schema) -> Schema:
    return object_schema(description, {"context": ref("PartnerContext"), **members})


def _run_request(statuses: list[str], *, with_id: bool = False) -> Schema:
    properties: dict[str, Schema] = {
        "partnerDatasourceId": {"type": "integer"},
        "status": {"type": "string", "enum": statuses},
    }
    schema = object_schema("The run asked for.", properties)
    if with_id:
        schema["properties"]["id"] = {"type": "integer", "description": "The queued run's id."}
    return schema


_INT = {"type": "integer"}
_MILLIS_OR_NULL = {"type": ["integer", "null"], "description": "Epoch milliseconds."}
_TEXT_OR_NULL = {"type": ["string", "null"]}
PARTNER_WEBHOOK = object_schema(
    "A webhook endpoint of the tenant; `secret` (whsec_…) only in the answer that created or rotated it.",
    {
        "id": _INT,
        "url": {"type": "string"},
        "events": {"type": "array", "items": {"type": "string"}},
        "description": _TEXT_OR_NULL,
        "active": {"type": "boolean"},
        "disabledReason": _TEXT_OR_NULL,
        "createdAt": _MILLIS_OR_NULL,
        "updatedAt": _MILLIS_OR_NULL,
        "secret": {"type": "string"},
    },
    required=False,
)
PARTNER_WEBHOOK_DELIVERY = object_schema(
    "One event sent to an endpoint, with every attempt.",
    {
        "id": _INT,
        "endpointId": _INT,
        "eventId": {"type": "string"},
        "eventType": {"type": "string"},
        "state": {"type": "string"},
        "attempts": _INT,
        "nextAttemptAt": _MILLIS_OR_NULL,
        "deliveredAt": _MILLIS_OR_NULL,
        "createdAt": _MILLIS_OR_NULL,
        "log": {
            "type": "array",
            "items": object_schema(
                "One attempt.",
                {
                    "attempt": _INT,
                    "attemptedAt": _MILLIS_OR_NULL,
                    "statusCode": {"type": ["integer", "null"]},
                    "latencyMs": {"type": ["integer", "null"]},
                    "response": _TEXT_OR_NULL,
                    "error": _TEXT_OR_NULL,
                },
                required=False,
            ),
        },
    },
    required=False,
)


PARTNER_SCHEMAS: dict[str, Schema] = {
    "PartnerWebhook": PARTNER_WEBHOOK,
    "PartnerWebhookDelivery": PARTNER_WEBHOOK_DELIVERY,
    "PartnerContext": PARTNER_CONTEXT,
    "PartnerDatasource": partner_datasource_schema(),
    "PartnerImport": PARTNER_IMPORT,
    "PartnerImportError": PARTNER_IMPORT_ERROR,
    "PartnerRun": PARTNER_RUN,
    "PartnerConnectionTest": _partner_connection_test(),
    "PartnerErrors": object_schema(
        "One member per problem, in the order found: the thing at fault, and a code. A key repeats when "
        "there are several problems with it (read the raw text to see them all).",
        {
            "errors": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": "string"},
                "examples": [{"partnerDataSource": "HostRequired"}],
            }
        },
    ),
}

_CONTEXT_ONLY = _with_context("The partner's context.")
_ONE_DATASOURCE = _with_context("The datasource.", datasource=ref("PartnerDatasource"))
_REIMPORT_RUN = _run_request([str(r) for r in reimports.RunRequest])

_ONE_WEBHOOK = object_schema("The endpoint.", {"webhook": ref("PartnerWebhook")})
PARTNER_SUCCESS: dict[tuple[str, str], Schema | None] = {
    ("post", "/partner/webhooks"): _ONE_WEBHOOK,
    ("get", "/partner/webhooks"): object_schema(
        "The tenant's endpoints.", {"webhooks": {"type": "array", "items": ref("PartnerWebhook")}}
    ),
    ("get", "/partner/webhooks/{webhook_id}"): _ONE_WEBHOOK,
    ("put", "/partner/webhooks/{webhook_id}"): _ONE_WEBHOOK,
    ("delete", "/partner/webhooks/{webhook_id}"): None,
    ("post", "/partner/webhooks/{webhook_id}/rotate-secret"): _ONE_WEBHOOK,
    ("get", "/partner/webhooks/{webhook_id}/deliveries"): object_schema(
        "The endpoint's deliveries, newest first.",
        {"deliveries": {"type": "array", "items": ref("PartnerWebhookDelivery")}},
    ),
    ("post", "/partner/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): object_schema(
        "The delivery, due again at once.", {"delivery": ref("PartnerWebhookDelivery")}
    ),
    ("post", "/login"): _CONTEXT_ONLY,
    ("get", "/logout"): None,
    ("get", "/me"): _CONTEXT_ONLY,
    ("get", "/partner/datasources"): _with_context(
        "The partner's datasources.", datasources={"type": "array", "items": ref("PartnerDatasource")}
    ),
    ("post", "/partner/datasources"): _ONE_DATASOURCE,
    ("get", "/partner/datasources/{source_id}"): _ONE_DATASOURCE,
    ("put", "/partner/datasources/{source_id}"): _ONE_DATASOURCE,
    ("delete", "/partner/datasources/{source_id}"): None,
    ("get", "/partner/datasources/{source_id}/imports"): _with_context(
        "The files, newest first.", imports={"type": "array", "items": ref("PartnerImport")}
    ),
    ("get", "/partner/datasources/{source_id}/imports/{file_id}/errors"): _with_context(
        "A page of the file's row errors.", importErrors={"type": "array", "items": ref("PartnerImportError")}
    ),
    ("post", "/partner/datasources/{source_id}/run"): _with_context(
        "The run asked for: queued (with its id), or alreadyQueued when one already waits or runs.",
        run=_run_request(["queued", "alreadyQueued"], with_id=True),
    ),
    ("get", "/partner/datasources/{source_id}/runs"): _with_context(
        "A page of the runs, newest first.", runs={"type": "array", "items": ref("PartnerRun")}
    ),
    ("post", "/import/file"): ref("PartnerImport"),
    ("post", "/partner/datasources/test"): _with_context(
        "What a run would find.", connectionTest=ref("PartnerConnectionTest")
    ),
    ("post", "/partner/datasources/{source_id}/test"): _with_context(
        "What a run would find.", connectionTest=ref("PartnerConnectionTest")
    ),
    ("post", "/partner/datasources/{source_id}/host-key/reset"): _with_context(
        "The datasource, and the key forgotten (null if none was pinned).",
        datasource=ref("PartnerDatasource"),
        forgottenHostKeyFingerprint={"type": ["string", "null"]},
    ),
    ("post", "/partner/datasources/{source_id}/imports/{file_id}/reimport"): _with_context(
        "The file marked for import, and the run asked for.",
        run=_REIMPORT_RUN,
        **{"import": ref("PartnerImport")},
    ),
    ("post", "/partner/datasources/{source_id}/reimport"): _with_context(
        "How many files were marked for import, and the run asked for.",
        reimport=object_schema(
            "", {"partnerDatasourceId": {"type": "integer"}, "files": {"type": "integer"}}
        ),
        run=_REIMPORT_RUN,
    ),
}

# Answers that are not JSON: (method, path) -> (media type, schema).
PARTNER_FILES: dict[tuple[str, str], tuple[str, Schema]] = {
    ("get", "/partner/datasources/{source_id}/imports/{file_id}/errors.csv"): (
        "text/csv",
        {
            "type": "string",
            "description": "The rejected rows in the file's own layout (its header and delimiter), each "
            "followed by its line, code and message.",
        },
    ),
}

_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


def _partner_error(description: str, **example: str) -> dict[str, Any]:
    content = {"application/json": {"schema": ref("PartnerErrors"), "example": {"errors": example}}}
    return {"description": description, "content": content}


def partner_errors(method: str, path: str, operation: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The errors an operation answers: every one authenticates; bodies, ids and pages add their own."""
    parameters = {p["name"] for p in operation.get("parameters", ())}
    has_body = "requestBody" in operation
    errors: dict[str, dict[str, Any]] = {}
    if has_body or parameters & {"firstRow", "maxNumRows", "type", "datasourceId", "name"}:
        errors["400"] = _partner_error(
            "Invalid fields (one member per problem), JSON or parameters, or refused by the datasource's "
            "state (partnerDataSource NotAPullSource, request NotReimportable, request RunsDisabled)",
            partnerDataSource="HostRequired",
        )
    elif method == "post" and "source_id" in parameters:
        errors["400"] = _partner_error(
            "Refused by the datasource's state: partnerDataSource NotAPullSource, request NotReimportable "
            "or request RunsDisabled",
            request="NotReimportable",
        )
    errors["401"] = _partner_error(
        "touchpoint InvalidToken (code or token missing or wrong), party NotLoggedIn (no session and no "
        "HTTP Basic), or credential InvalidCredentials",
        touchpoint="InvalidToken",
    )
    if "source_id" in parameters:
        errors["404"] = _partner_error(
            "No datasource of this partner has this id (partnerDataSource NotFound), or the datasource has "
            "no such file (importFile NotFound)",
            partnerDataSource="NotFound",
        )
    elif "webhook_id" in parameters:
        errors["404"] = _partner_error(
            "No webhook endpoint of the tenant has this id (webhook NotFound), or it has no such delivery "
            "(webhookDelivery NotFound)",
            webhook="NotFound",
        )
    if has_body:
        errors["413"] = _partner_error("The body is over the server's limit", request="RequestTooLarge")
        if "application/json" in operation["requestBody"].get("content", {}):
            errors["415"] = _partner_error("The body is not JSON", request="UnsupportedMediaType")
    errors["429"] = {
        **_partner_error(
            "touchpoint or credential TooManyAttempts (too many failed sign-ins), or request "
            "TooManyRequests (the server is busy); see Retry-After",
            touchpoint="TooManyAttempts",
        ),
        "headers": _RETRY_AFTER,
    }
    if path == "/login":
        errors["400"] = _partner_error(
            "Already logged in (party PartyAlreadyLoggedin), or the body is not a JSON object",
            party="PartyAlreadyLoggedin",
        )
    return errors


# --- the data sources API (ChartMogul v1) -------------------------------------------------------


def chartmogul_data_source_schema() -> Schema:
    extras = {
        "processing_status": object_schema(
            "Files of the source: imported, failed, and waiting for a run.",
            {key: {"type": "integer"} for key in ("processed", "failed", "pending")},
        ),
        "auto_churn_subscription_setting": value_schema(chartmogul.AUTO_CHURN_SUBSCRIPTION_SETTING),
        "invoice_handling_setting": value_schema(chartmogul.INVOICE_HANDLING_SETTING),
    }
    asked_with = {f.name for f in dataclasses.fields(chartmogul.Extras)}
    if asked_with != set(extras):
        raise RuntimeError(f"the data source's optional parts {sorted(asked_with)} are not all described")
    schema = object_schema(
        "A data source; the optional parts only when asked for with with_<part>=true.",
        {
            name: field_answer_schema(spec, {"type": "string", "format": "date-time"}, nullable=False)
            for name, spec in source_fields.CHARTMOGUL_FIELDS
        },
    )
    schema["properties"].update(extras)
    return schema


CHARTMOGUL_SCHEMAS: dict[str, Schema] = {
    "ChartMogulDataSource": chartmogul_data_source_schema(),
    "ChartMogulError": object_schema(
        "An error, as ChartMogul answers one.",
        {
            "code": {"type": "integer", "description": "The HTTP status."},
            "message": {"type": "string"},
            "param": {"type": ["string", "null"], "description": "The parameter at fault, if one is."},
        },
    ),
    "ChartMogulFieldErrors": object_schema(
        "Invalid fields: each field's message.",
        {"errors": {"type": "object", "additionalProperties": {"type": "string"}}},
    ),
}

CHARTMOGUL_SUCCESS: dict[tuple[str, str], Schema | None] = {
    ("get", "/ping"): object_schema("The key works.", {"data": {"type": "string", "const": "pong!"}}),
    ("post", "/data_sources"): ref("ChartMogulDataSource"),
    ("get", "/data_sources"): object_schema(
        "The sources of the account, filtered by name and system.",
        {"data_sources": {"type": "array", "items": ref("ChartMogulDataSource")}},
    ),
    ("get", "/data_sources/{uuid}"): ref("ChartMogulDataSource"),
    ("delete", "/data_sources/{uuid}"): None,
}


def _chartmogul_error(
    status: int, description: str, message: str, param: str | None = None
) -> dict[str, Any]:
    example = {"code": status, "message": message, "param": param}
    return {
        "description": description,
        "content": {"application/json": {"schema": ref("ChartMogulError"), "example": example}},
    }


def chartmogul_errors(method: str, path: str, operation: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    parameters = {p["name"] for p in operation.get("parameters", ())}
    has_body = "requestBody" in operation
    errors: dict[str, dict[str, Any]] = {}
    if has_body or parameters - {"uuid"}:
        errors["400"] = _chartmogul_error(
            400,
            "A parameter is missing or invalid, or the body is not a JSON object",
            'Parameter "name" is missing',
            "name",
        )
    errors["401"] = {
        **_chartmogul_error(401, "No valid API key", "No valid API key provided"),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    }
    if "uuid" in parameters:
        errors["404"] = _chartmogul_error(
            404, "No source of the account has this uuid", "Data source not found"
        )
    if has_body:
        errors["413"] = _chartmogul_error(
            413,
            "The body is over the server's limit",
            "The request body must not be larger than 1048576 bytes",
        )
        errors["422"] = {
            "description": "Invalid fields: the name is empty, taken, not a text or too long",
            "content": {
                "application/json": {
                    "schema": ref("ChartMogulFieldErrors"),
                    "example": {"errors": {"name": chartmogul.NAME_REQUIRED}},
                }
            },
        }
    errors["429"] = {
        **_chartmogul_error(
            429,
            "Past the account's request rate, or too many wrong keys from this address; see Retry-After",
            "Your request rate has exceeded our rate limit.",
        ),
        "headers": _RETRY_AFTER,
    }
    return errors


# --- the document -------------------------------------------------------------------------------

ErrorTable = Callable[[str, str, Mapping[str, Any]], dict[str, dict[str, Any]]]
DIALECTS: tuple[tuple[str, Mapping[tuple[str, str], Schema | None], ErrorTable], ...] = (
    (PARTNER_PREFIX, PARTNER_SUCCESS, partner_errors),
    (CHARTMOGUL_PREFIX, CHARTMOGUL_SUCCESS, chartmogul_errors),
)


def _success_status(responses: Mapping[str, Any]) -> str:
    return next(status for status in responses if status.startswith("2"))


def describe_answers(document: dict[str, Any]) -> None:
    """Write the dialects' answers into FastAPI's description of the root app, in place."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(PARTNER_SCHEMAS)
    schemas.update(CHARTMOGUL_SCHEMAS)
    for path, operations in document.get("paths", {}).items():
        for prefix, successes, errors_of in DIALECTS:
            if not path.startswith(prefix):
                continue
            relative = "/" + path.removeprefix(prefix)
            for method, operation in operations.items():
                responses = operation["responses"]
                status = _success_status(responses)
                success = dict(responses[status])
                key = (method, relative)
                if key in PARTNER_FILES and prefix == PARTNER_PREFIX:
                    media_type, file_schema = PARTNER_FILES[key]
                    success["content"] = {media_type: {"schema": file_schema}}
                elif key in successes:
                    body = successes[key]
                    success.pop("content", None)
                    if body is not None:
                        success["content"] = {"application/json": {"schema": body}}
                operation["responses"] = {status: success, **errors_of(method, relative, operation)}
    if "#/components/schemas/HTTPValidationError" not in str(document.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
