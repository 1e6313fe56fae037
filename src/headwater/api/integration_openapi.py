"""The integration API's OpenAPI description: resource schemas, filter parameters, both answer layers.

Documentation only: requests are parsed by hand in ``headwater.api.integration`` (so that the gate
answers before any parsing) and validated by the core; this module tells clients what to send and
what comes back.
"""

from __future__ import annotations

from typing import Any

from headwater import resources
from headwater.api.schemas import field_answer_schema, pull_source_body
from headwater.source_fields import INTEGRATION_FIELDS, WRITABLE

_EXAMPLES = {"host": ["ftp.example.com"], "workingDirectory": ["/sales"]}
WRITABLE_ATTRIBUTES = tuple(f.name for f in WRITABLE)


def data_source_body() -> dict[str, Any]:
    """A pull source's fields (documentation only: the core validates, unknown fields are ignored)."""
    return pull_source_body("DataSourceBody", _EXAMPLES)


def body_schema(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def patch_schema() -> dict[str, Any]:
    return pull_source_body("DataSourcePatch", _EXAMPLES, partial=True)


KIND_SCHEMAS: dict[resources.Kind, dict[str, Any]] = {
    resources.Kind.TEXT: {"type": "string"},
    resources.Kind.INTEGER: {"type": "integer"},
    resources.Kind.NUMBER: {"type": "number"},
    resources.Kind.BOOL: {"type": "boolean"},
    resources.Kind.DATE: {"type": "string", "format": "date"},
    resources.Kind.DATETIME: {"type": "string", "format": "date-time"},
    resources.Kind.OPAQUE: {"type": "string", "description": 'Masked: "********" when set.'},
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
    properties: dict[str, Any]
    if resource.name == "dataSources":
        # Written from the table of source fields, as the answer is (null fields are left out).
        properties = {
            spec.name: field_answer_schema(spec, KIND_SCHEMAS[resources.Kind.DATETIME], nullable=False)
            for spec in INTEGRATION_FIELDS
        }
    else:
        properties = {f.name: dict(KIND_SCHEMAS[f.kind]) for f in resource.fields}
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


def add_schemas_and_security(document: dict[str, Any]) -> None:
    """Complete FastAPI's description of the /prod sub-app: the resources' and the messages' schemas, and
    the security pair on every operation."""
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
