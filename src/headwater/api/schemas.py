"""The request body of a pull source, as the partner and the integration API document it.

Documentation only: the dialects read bodies by hand and the core validates them, ignoring unknown
fields. The schema is written from the table of source fields (``headwater.source_fields``), in its
order, with the same bounds the validation applies; each dialect gives it its own title and examples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headwater.domain import SECRET_MASK
from headwater.source_fields import WRITABLE, FieldType, SourceField

Schema = dict[str, Any]


def _or_null(schema: Schema) -> Schema:
    nullable: Schema = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def field_body_schema(spec: SourceField) -> Schema:
    """What a request may send for one writable field."""
    schema: Schema
    if spec.type is FieldType.SCHEDULE:
        return {"type": ["integer", "string", "null"], "description": spec.description}
    if spec.type is FieldType.TEXT:
        schema = {"type": "string", "maxLength": spec.max_length}
    elif spec.type is FieldType.CHOICE:
        schema = {"type": "string", "enum": list(spec.choices)}
    elif spec.type is FieldType.CODE:
        schema = {"type": "integer", "enum": list(spec.choices)}
    elif spec.type is FieldType.INTEGER:
        schema = {"type": "integer", "minimum": spec.low, "maximum": spec.high}
    elif spec.type is FieldType.BOOLEAN:
        schema = {"type": "boolean", "default": spec.default}
    else:
        raise TypeError(f"{spec.name} ({spec.type}) is not taken in a request")
    if not spec.required:
        schema = _or_null(schema)
    if spec.description:
        schema["description"] = spec.description
    return schema


def pull_source_body(
    title: str, examples: Mapping[str, Sequence[Any]] | None = None, *, partial: bool = False
) -> Schema:
    """The JSON Schema of a pull source's fields; ``partial``: none required (a PATCH)."""
    properties: dict[str, Schema] = {}
    for spec in WRITABLE:
        schema = field_body_schema(spec)
        shown = (examples or {}).get(spec.name, spec.examples)
        if shown:
            schema["examples"] = list(shown)
        properties[spec.name] = schema
    body: Schema = {"title": title, "type": "object", "properties": properties}
    if not partial:
        body["required"] = [spec.name for spec in WRITABLE if spec.required]
    return body


def field_answer_schema(spec: SourceField, time: Schema, *, nullable: bool) -> Schema:
    """How a dialect shows one field: times as ``time``, null allowed where ``nullable``."""
    schema: Schema
    if spec.masked:
        schema = {"type": "string", "enum": [SECRET_MASK]}
    elif spec.type in (FieldType.TEXT, FieldType.CHOICE):
        schema = {"type": "string", "enum": list(spec.choices)} if spec.choices else {"type": "string"}
    elif spec.type is FieldType.CODE:
        schema = {"type": "integer", "enum": list(spec.choices)}
    elif spec.type is FieldType.INTEGER:
        schema = {"type": "integer"}
    elif spec.type is FieldType.BOOLEAN:
        schema = {"type": "boolean"}
    elif spec.type is FieldType.TIME:
        schema = dict(time)
    elif spec.type is FieldType.SCHEDULE:
        schema = {"type": ["integer", "string"]}
    else:  # the last run's error
        schema = {
            "type": "object",
            "required": ["code", "message", "at"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": ["string", "null"]},
                "at": _or_null(dict(time)) if isinstance(time.get("type"), str) else time,
            },
        }
    if nullable:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema = {**schema, "type": [*kinds, "null"]}
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if spec.description:
        schema["description"] = spec.description
    return schema


__all__ = ["field_answer_schema", "field_body_schema", "pull_source_body"]
