"""Create a source, and change a source's settings, through the same rules as the partner API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from headwater import sources
from headwater.console import forms
from headwater.console.session import Viewer
from headwater.console.views.common import (
    ViewerDep,
    back_to,
    checked_form,
    page,
    read_visible_source,
    runtime_of,
    visible_source,
)
from headwater.errors import Conflict, NotFound, ValidationFailed
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.store import credentials as credential_store

router = APIRouter()


def _form_page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    source_id: int | None,
    tenants: list[Any],
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        viewer,
        "source_form.html",
        status_code,
        title="New source" if source_id is None else "Settings",
        nav="sources",
        values=values,
        errors=errors,
        options=forms.OPTIONS,
        source_id=source_id,
        tenants=tenants,
        secrets_stored=values.get("_secrets", {}),
    )


def _refused(
    request: Request,
    viewer: Viewer,
    form: FormData,
    errors: dict[str, str],
    *,
    source_id: int | None,
    tenants: list[Any],
) -> HTMLResponse:
    """The form again, with what was posted (never a secret) and each error next to its field."""
    values = {key: str(form.get(key) or "") for key in form if key not in forms.SECRETS}
    return _form_page(
        request, viewer, values=values, errors=errors, source_id=source_id, tenants=tenants, status_code=400
    )


async def _tenants_for(request: Request, viewer: Viewer) -> list[Any]:
    if not viewer.is_operator:
        return []
    async with runtime_of(request).db.session() as session:
        return list(await credential_store.list_tenants(session))


@router.get("/sources/new")
async def new_source(request: Request, viewer: ViewerDep) -> HTMLResponse:
    values = {
        "dataSourceType": "SFTP",
        "authenticationType": "PASSWORD",
        "fileImportType": "PARTY",
        "afterImport": "KEEP",
        "filePattern": "*",
        "active": "on",
    }
    return _form_page(
        request, viewer, values=values, errors={}, source_id=None, tenants=await _tenants_for(request, viewer)
    )


@router.post("/sources/new")
async def create_source(request: Request, viewer: ViewerDep) -> Response:
    form = await checked_form(request, viewer)
    runtime = runtime_of(request)
    payload = forms.payload_from_form(form)
    try:
        async with runtime.db.session() as session:
            tenant_id = viewer.tenant_id
            if viewer.is_operator:
                tenant_id = (
                    await credential_store.get_tenant_by_name(session, str(form.get("tenant") or ""))
                ).id
            assert tenant_id is not None
            created = await sources.create_pull_source(
                session,
                tenant_id,
                payload,
                runtime.box,
                owner_partner_id=viewer.partner_id,
                hosts=HostPolicy.from_settings(runtime.settings),
            )
    except (ValidationFailed, Conflict, NotFound) as exc:
        errors = {"tenant": "Choose a tenant."} if isinstance(exc, NotFound) else forms.field_errors(exc)
        return _refused(
            request, viewer, form, errors, source_id=None, tenants=await _tenants_for(request, viewer)
        )
    return back_to(f"/sources/{created.id}", "created")


@router.get("/sources/{source_id}/settings")
async def edit_source(request: Request, viewer: ViewerDep, source_id: int) -> HTMLResponse:
    source = await read_visible_source(request, viewer, source_id)
    described = sources.describe(source)
    values: dict[str, Any] = forms.values_for_form(described)
    values["_secrets"] = {key: described.get(key) is not None for key in forms.SECRETS}
    return _form_page(request, viewer, values=values, errors={}, source_id=source_id, tenants=[])


@router.post("/sources/{source_id}/settings")
async def save_source(request: Request, viewer: ViewerDep, source_id: int) -> Response:
    form = await checked_form(request, viewer)
    runtime = runtime_of(request)
    try:
        async with runtime.db.session() as session:
            source = await visible_source(session, viewer, source_id)
            await sources.update_pull_source(
                session,
                source.tenant_id,
                source,
                forms.payload_from_form(form),
                runtime.box,
                hosts=HostPolicy.from_settings(runtime.settings),
            )
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, viewer, form, forms.field_errors(exc), source_id=source_id, tenants=[])
    return back_to(f"/sources/{source_id}", "saved")
