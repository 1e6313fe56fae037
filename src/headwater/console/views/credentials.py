"""Operators only: one tenant's credentials — touchpoints, partners, API keys, OAuth clients, area keys.

Every action calls the core function the command line calls. A newly issued secret is written into the
page that answers its creation, and nowhere else: not in the session, not in a redirect, never again;
that answer is marked ``Cache-Control: no-store`` so that the browser's back button cannot bring it back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from headwater.access import apikeys, areakeys, credentials, oauth
from headwater.console.session import Viewer
from headwater.console.views.common import ViewerDep, back_to, checked_form, page, runtime_of
from headwater.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from headwater.store import apikeys as apikey_store
from headwater.store import credentials as credential_store
from headwater.store.tables import Tenant
from headwater.webhooks import endpoints
from headwater.webhooks.events import EVENT_TYPES

router = APIRouter()


async def operator_only(viewer: ViewerDep) -> Viewer:
    """Operators pass; anyone else is told there is nothing here, as for another tenant's source."""
    if not viewer.is_operator:
        raise NotFound("page")
    return viewer


OperatorDep = Annotated[Viewer, Depends(operator_only)]


@dataclass(frozen=True)
class Issued:
    """What a creation answers: the secret's label and value, shown once, and what it belongs to."""

    title: str
    subject: str
    values: list[tuple[str, str]]


def sentence(message: str) -> str:
    """A core message ("code must be ...") as a sentence next to its field."""
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "." if message else message


def _errors(form_name: str, exc: ValidationFailed | Conflict) -> dict[str, str]:
    if isinstance(exc, Conflict):
        return {f"{form_name}.{exc.field}": sentence(exc.message)}
    errors: dict[str, str] = {}
    for problem in exc.problems:
        errors.setdefault(f"{form_name}.{problem.field}", sentence(problem.message or problem.code))
    return errors


async def _tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    return await apikey_store.get_tenant(session, tenant_id)


async def tenant_page(
    request: Request,
    viewer: Viewer,
    tenant_id: int,
    *,
    notice: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.db.session() as session:
        tenant = await _tenant(session, tenant_id)
        context: dict[str, Any] = {
            "tenant": tenant,
            "touchpoints": await credential_store.list_touchpoints(session, tenant.id),
            "partners": await credential_store.list_partners(session, tenant.id),
            "api_keys": await apikeys.list_keys(session, tenant.name),
            "clients": await oauth.list_clients(session, tenant.name),
            "area_keys": await areakeys.list_area_keys(session, tenant.name),
            "webhooks": [endpoints.describe(e) for e in await endpoints.list_endpoints(session, tenant.id)],
            "event_types": EVENT_TYPES,
            "others": [t for t in await credential_store.list_tenants(session) if t.id != tenant.id],
        }
    return page(
        request,
        viewer,
        "tenant.html",
        status_code,
        title=f"Tenant {tenant.name}",
        nav="tenants",
        notice=notice,
        errors=errors or {},
        values=values or {},
        default_per_second=runtime.settings.rate_limit_per_second,
        default_per_day=runtime.settings.rate_limit_per_day,
        budgets_of=lambda key: areakeys.budgets(key, runtime.settings),
        **context,
    )


def _issued_page(request: Request, viewer: Viewer, tenant: Tenant, issued: Issued) -> HTMLResponse:
    answer = page(
        request, viewer, "issued.html", title=issued.title, nav="tenants", tenant=tenant, issued=issued
    )
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["Pragma"] = "no-cache"
    return answer


Action = Callable[[AsyncSession, Tenant, FormData], Awaitable[Issued | str]]


async def _act(request: Request, viewer: Viewer, tenant_id: int, form_name: str, action: Action) -> Response:
    """Run ``action`` on the tenant: its ``Issued`` answers the secret page, a notice a redirect to the
    tenant, a refusal the tenant page with the messages next to the form's fields."""
    form = await checked_form(request, viewer)
    try:
        async with runtime_of(request).db.session() as session:
            tenant = await _tenant(session, tenant_id)
            done = await action(session, tenant, form)
    except (ValidationFailed, Conflict) as exc:
        values = {f"{form_name}.{key}": str(value) for key, value in form.items() if key != "csrf_token"}
        return await tenant_page(
            request, viewer, tenant_id, errors=_errors(form_name, exc), values=values, status_code=400
        )
    if isinstance(done, Issued):
        return _issued_page(request, viewer, tenant, done)
    return back_to(f"/tenants/{tenant_id}", done)


def _text(form: FormData, name: str, limit: int = 1000) -> str:
    return str(form.get(name) or "")[:limit]


def _limit(form: FormData, name: str) -> int | None:
    text = _text(form, name, 40).strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 12 or int(text) < 1:
        raise ValidationFailed([FieldProblem(name, "InvalidNumber", "must be a whole number of 1 or more")])
    return int(text)


@router.get("/tenants/{tenant_id}")
async def show_tenant(
    request: Request, viewer: OperatorDep, tenant_id: int, notice: str = ""
) -> HTMLResponse:
    return await tenant_page(request, viewer, tenant_id, notice=notice)


TenantAction = Callable[[Request, AsyncSession, Tenant, FormData], Awaitable[Issued | str]]


def tenant_action(router: APIRouter, path: str, form_name: str) -> Callable[[TenantAction], TenantAction]:
    """Register ``action`` on ``router`` as the operator's ``POST /tenants/{id}/<path>``, run as ``_act``
    says, its refusals shown next to the fields of the form ``form_name``."""

    def register(action: TenantAction) -> TenantAction:
        async def endpoint(request: Request, viewer: OperatorDep, tenant_id: int) -> Response:
            return await _act(request, viewer, tenant_id, form_name, partial(action, request))

        router.add_api_route(
            f"/tenants/{{tenant_id}}/{path}", endpoint, methods=["POST"], name=action.__name__
        )
        return action

    return register


def form_id(form: FormData, what: str) -> int:
    """The key id the form names; anything else is a key that is not there."""
    key_id = _text(form, "id", 20)
    if not key_id.isdigit():
        raise NotFound(what)
    return int(key_id)


# -- touchpoints ----------------------------------------------------------------------------------


def _touchpoint_issued(title: str, subject: str, issued: credentials.IssuedTouchpoint) -> Issued:
    code = issued.touchpoint.code
    return Issued(
        title, f"Touchpoint {code}{subject}", [("Touchpoint code", code), ("Touchpoint token", issued.token)]
    )


@tenant_action(router, "touchpoints", "touchpoint")
async def create_touchpoint(
    request: Request, session: AsyncSession, tenant: Tenant, form: FormData
) -> Issued:
    issued = await credentials.create_touchpoint(
        session, runtime_of(request).box, tenant.id, _text(form, "code")
    )
    return _touchpoint_issued("New touchpoint", "", issued)


@tenant_action(router, "touchpoints/rotate", "touchpoint")
async def rotate_touchpoint(
    request: Request, session: AsyncSession, tenant: Tenant, form: FormData
) -> Issued:
    issued = await credentials.rotate_touchpoint(
        session, runtime_of(request).box, tenant.id, _text(form, "code")
    )
    return _touchpoint_issued("New touchpoint token", " (the old token no longer works)", issued)


@tenant_action(router, "touchpoints/revoke", "touchpoint")
async def revoke_touchpoint(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> str:
    await credentials.revoke_touchpoint(session, tenant.id, _text(form, "code"))
    return "touchpoint-revoked"


# -- partners -------------------------------------------------------------------------------------


def _partner_issued(title: str, subject: str, issued: credentials.IssuedPartner) -> Issued:
    assert issued.generated_password is not None
    principal = issued.partner.principal
    return Issued(
        title,
        f"Partner {principal}{subject}",
        [("Principal", principal), ("Password", issued.generated_password)],
    )


@tenant_action(router, "partners", "partner")
async def create_partner(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> Issued:
    optional = {name: _text(form, name, 200).strip() or None for name in ("first_name", "last_name", "email")}
    issued = await credentials.create_partner(session, tenant.id, _text(form, "principal"), **optional)
    return _partner_issued("New partner", "", issued)


@tenant_action(router, "partners/reset-password", "partner")
async def reset_partner_password(
    request: Request, session: AsyncSession, tenant: Tenant, form: FormData
) -> Issued:
    issued = await credentials.reset_partner_password(session, tenant.id, _text(form, "principal"))
    return _partner_issued("New partner password", f" ({issued.sessions_ended} session(s) ended)", issued)


@tenant_action(router, "partners/revoke", "partner")
async def revoke_partner(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> str:
    await credentials.revoke_partner(session, tenant.id, _text(form, "principal"))
    return "partner-revoked"


# -- API keys (/v1) -------------------------------------------------------------------------------


@tenant_action(router, "api-keys", "apiKey")
async def create_api_key(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> Issued:
    issued = await apikeys.issue(session, runtime_of(request).box, tenant.id)
    return Issued("New API key", "API key of the data sources API (/v1)", [("API key", issued.key)])


@tenant_action(router, "api-keys/revoke", "apiKey")
async def revoke_api_key(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> str:
    await apikeys.revoke_by_id(session, tenant.id, form_id(form, "API key"))
    return "api-key-revoked"


# -- OAuth clients and area keys (integration API) ------------------------------------------------


@tenant_action(router, "clients", "client")
async def create_client(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> Issued:
    grants = [str(name)[:200] for name in form.getlist("grant")[:100]]
    issued = await oauth.create_client(session, tenant.name, grants)
    return Issued(
        "New OAuth client",
        f"Client of {issued.tenant}, granted {', '.join(issued.granted)}",
        [("Client id", issued.client_id), ("Client secret", issued.secret)],
    )


@tenant_action(router, "area-keys", "areaKey")
async def create_area_key(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> Issued:
    problems = []
    limits: dict[str, int | None] = {}
    for field, name in (("perSecond", "per_second"), ("perDay", "per_day")):
        try:
            limits[name] = _limit(form, field)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    issued = await areakeys.create_area_key(session, runtime_of(request).box, tenant.name, **limits)
    return Issued("New area key", f"Area key (x-api-key) of {issued.tenant}", [("Area key", issued.key)])


@tenant_action(router, "area-keys/revoke", "areaKey")
async def revoke_area_key(request: Request, session: AsyncSession, tenant: Tenant, form: FormData) -> str:
    await areakeys.revoke_area_key(session, tenant.name, form_id(form, "Area key"))
    return "area-key-revoked"


__all__ = ["OperatorDep", "operator_only", "router", "sentence", "tenant_page"]
