"""A source's settings as an HTML form: the partner API's fields, the same validation.

The form only turns posted strings into the partner API's body; ``sources.create_pull_source`` and
``sources.update_pull_source`` decide, so the rules live in one place. A secret left empty keeps the
stored one (the API's ``********``); a secret is never written back into a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headwater.domain import SECRET_MASK
from headwater.errors import Conflict, FieldProblem, ValidationFailed

SECRETS = ("password", "privateKeyFile", "passphrase")
TEXTS = (
    "name",
    "host",
    "user",
    "region",
    "endpointUrl",
    "workingDirectory",
    "touchpointCode",
    "filePattern",
    "excludePattern",
    "archiveDirectory",
    "schedule",
)
NUMBERS = ("port", "processorType", "reprocessingDays")
CHOICES = ("dataSourceType", "authenticationType", "fileImportType", "afterImport")
FLAGS = ("tls", "amountCalculated", "recursive", "active")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


OPTIONS: dict[str, list[Choice]] = {
    "dataSourceType": [Choice("SFTP", "SFTP"), Choice("FTP", "FTP or FTPS"), Choice("S3", "S3")],
    "authenticationType": [Choice("PASSWORD", "Password"), Choice("CERTIFICATE", "Private key")],
    "fileImportType": [
        Choice("PARTY", "PARTY (by external id)"),
        Choice("PRINCIPAL", "PRINCIPAL (by login)"),
    ],
    "afterImport": [
        Choice("KEEP", "Keep the file"),
        Choice("MOVE", "Move it to the archive directory"),
        Choice("DELETE", "Delete it"),
    ],
    "processorType": [
        Choice("25011", "25011 · Partner sales"),
        Choice("25012", "25012 · Partner stock"),
        Choice("25000", "25000 · Persons"),
        Choice("25004", "25004 · Companies"),
        Choice("25006", "25006 · Physical locations"),
    ],
}


def payload_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The partner API body the form stands for. Empty fields are left out; empty secrets kept."""
    payload: dict[str, Any] = {}
    for key in (*TEXTS, *CHOICES):
        value = str(form.get(key) or "").strip()
        if value:
            payload[key] = value
    for key in NUMBERS:
        value = str(form.get(key) or "").strip()
        if value:
            payload[key] = int(value) if value.lstrip("-").isdigit() and len(value) < 12 else value
    for key in SECRETS:
        value = str(form.get(key) or "")
        payload[key] = value if value.strip() else SECRET_MASK
    for key in FLAGS:
        payload[key] = form.get(key) == "on"
    return payload


def values_for_form(described: Mapping[str, Any]) -> dict[str, str]:
    """A stored source's fields as form values; secrets only say whether one is stored."""
    values = {
        key: "" if described.get(key) is None else str(described[key]) for key in (*TEXTS, *NUMBERS, *CHOICES)
    }
    for key in FLAGS:
        values[key] = "on" if described.get(key) else ""
    for key in SECRETS:
        values[key] = ""
    return values


def field_errors(exc: ValidationFailed | Conflict) -> dict[str, str]:
    """Each problem's message, next to its field (the first per field)."""
    problems = (
        exc.problems if isinstance(exc, ValidationFailed) else [FieldProblem(exc.field, "Taken", exc.message)]
    )
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(problem.field, problem.message or problem.code)
    return errors
