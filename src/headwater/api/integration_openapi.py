"""The integration API's OpenAPI description: resource schemas, filter parameters, both answer layers.

Documentation only: requests are parsed by hand in ``headwater.api.integration`` (so that the gate
answers before any parsing) and validated by the core; this module tells clients what to send and
what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from headwater import resources
from headwater.api.schemas import PullSourceFields, with_examples


class DataSourceBody(PullSourceFields):
    """A pull source's fields (documentation only: the core validates, unknown fields are ignored)."""

    model_config = with_examples(host=["ftp.example.com"], workingDirectory=["/sales"])


WRITABLE_ATTRIBUTES = tuple(DataSourceBody.model_fields)


def body_schema(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def patch_schema() -> dict[str, Any]:
    schema = DataSourceBody.model_json_schema()
    schema.pop("required", None)
    schema["title"] = "DataSourcePatch"
    return schema


KIND_SCHEMAS: dict[resources.Kind, dict[str, Any]] = {
    resources.Kind.TEXT: {"type": "string"},
    resources.Kind.INTEGER: {"type": "integer"},
    resources.Kind.NUMBER: {"type": "number"},
    resources.Kind.BOOL: {"type": "boolean"},
    resources.Kind.DATE: {"type": "string", "format": "date"},
    resources.Kind.DATETIME: {"type": "string", "format": "date-time"},
    resources.Kind.OPAQUE: {"type": "string", "description": 'Masked: "********" when set.'},
}
# Fields shown as something other than their kind says (a schedule, the error of a source's last run).
FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "schedule": {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "description": "Seconds between polls, or a five-field cron expression (UTC).",
    },
    "lastError": {
        "type": "object",
        "description": "Why the latest finished run failed; left out when it ended well.",
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
        },
    },
}
MESSAGE_SCHEMA = {
    "type": "object",
    "description": "An application error (answered with HTTP 200).",
    "required": ["messageCode", "messageType", "messageText"],
    "properties": {
        "messageCode": {"type": "string", "examples": ["not_found_DataSource"]},
        "messageType": {"type": "string", "enum": ["ERROR"]},
        "messageText": {"type": "string"},
        "requestId": {"type": "string", "description": "Set on internal errors: quote it to the operator."},
    },
}
GATEWAY_SCHEMA = {"type": "object", "properties": {"message": {"type": "string"}}}
CONNECTION_TEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "ok, or the failure's code and message; null fields are left out.",
    "properties": {
        "ok": {"type": "boolean"},
        "code": {"type": "string", "examples": ["AuthenticationFailed", "HostKeyChanged", "HostRefused"]},
        "message": {"type": "string"},
        "hostKeyFingerprint": {
            "type": "string",
            "examples": ["SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"],
        },
        "hostKeyPinned": {"type": "boolean"},
        "filesSeen": {"type": "integer"},
        "filesToImport": {"type": "integer"},
        "files": {
            "type": "array",
            "description": "Up to 20 files: those a run would import now first.",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "path": {"type": "string"},
                    "size": {"type": "integer"},
                    "modified": {"type": "string", "format": "date-time"},
                    "importNow": {"type": "boolean"},
                    "reason": {
                        "type": "string",
                        "enum": [
                            "new",
                            "changed",
                            "retry",
                            "reimportRequested",
                            "unchanged",
                            "changedOutsideWindow",
                            "excludedByPattern",
                            "tooLarge",
                        ],
                    },
                },
            },
        },
    },
}
REIMPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "dataSourceId": {"type": "integer"},
        "filesMarked": {"type": "integer"},
        "run": {"type": "string", "enum": ["queued", "alreadyQueued", "notStarted"]},
    },
}


def schema_name(resource: resources.Resource) -> str:
    return resource.kind


def resource_schema(resource: resources.Resource) -> dict[str, Any]:
    properties = {f.name: dict(FIELD_SCHEMAS.get(f.name) or KIND_SCHEMAS[f.kind]) for f in resource.fields}
    if resource.name == "dataSources":
        properties["hostKeyFingerprint"] = {
            "type": "string",
            "description": "The pinned SFTP host key, as OpenSSH prints it (SHA256:...).",
        }
    return {
        "type": "object",
        "description": "Fields whose value is null are left out; new fields may appear.",
        "properties": properties,
    }


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def answers(result: dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    gateway = {"application/json": {"schema": ref("GatewayMessage")}}
    return {
        200: {
            "description": description + ", or an application error message",
            "content": {"application/json": {"schema": {"anyOf": [result, ref("Message")]}}},
        },
        403: {
            "description": "Missing, expired or wrong token, or an x-api-key not granted",
            "content": gateway,
        },
        429: {
            "description": "Past the x-api-key's limit per second or per day",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
            "content": gateway,
        },
        "4XX": {"description": "Refused by the web server", "content": gateway},
    }


def list_parameters(resource: resources.Resource) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": "maxNumRows",
            "in": "query",
            "required": False,
            "description": f"At most this many rows (default and maximum {resources.MAX_ROWS}).",
            "schema": {"type": "integer", "minimum": 1, "maximum": resources.MAX_ROWS},
        },
        {
            "name": "firstRow",
            "in": "query",
            "required": False,
            "description": "The 0-based position of the first row, in id order.",
            "schema": {"type": "integer", "minimum": 0},
        },
    ]
    for parameter, (f, operator) in resource.filters.items():
        if operator == "match":
            schema: dict[str, Any] = {"type": "string"}
            description = f"{f.name} matches; * stands for any characters."
        elif operator in ("from", "to"):
            if f.kind is resources.Kind.INTEGER:
                schema = dict(KIND_SCHEMAS[f.kind])
            else:
                schema = {
                    "type": "string",
                    "format": "date" if f.kind is resources.Kind.DATE else "date-time",
                }
            description = f"{f.name} {'on or after' if operator == 'from' else 'on or before'} this."
        else:
            schema = dict(KIND_SCHEMAS[f.kind])
            description = f"{f.name} equals this."
        parameters.append(
            {
                "name": parameter,
                "in": "query",
                "required": False,
                "description": description,
                "schema": schema,
            }
        )
    return parameters


def openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` for the /prod sub-app: FastAPI's description plus schemas and the security pair."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            servers=app.servers,
        )
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for resource in resources.RESOURCES.values():
            schemas[schema_name(resource)] = resource_schema(resource)
        schemas["Message"] = MESSAGE_SCHEMA
        schemas["GatewayMessage"] = GATEWAY_SCHEMA
        # Both credentials together on every operation (FastAPI would list them as alternatives).
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                operation["security"] = [{"clientCredentials": [], "areaKey": []}]
        app.openapi_schema = document
        return document

    return build
