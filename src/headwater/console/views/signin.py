"""Sign in and sign out. Partners give their tenant; operators leave it empty."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from headwater.access import auth, operators
from headwater.access.auth import InvalidCredentials, NotLoggedIn
from headwater.api.deps import client_address
from headwater.console.session import (
    COOKIE,
    LOGIN_COOKIE,
    PATH,
    CsrfRefused,
    check_csrf,
    cookie_value,
    new_login_token,
    viewer_from_cookie,
)
from headwater.console.templating import render
from headwater.console.views.common import runtime_of
from headwater.errors import NotFound, RateLimited
from headwater.store import credentials as credential_store

router = APIRouter()

WRONG = "The tenant, principal or password is wrong."


def _safe_next(value: object) -> str:
    # Only a page of the console: never an absolute URL or another site ("open redirect").
    if isinstance(value, str) and value.startswith(PATH + "/") and "//" not in value and "\\" not in value:
        return value
    return f"{PATH}/"


def _form(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_COOKIE) or new_login_token()
    response = render(
        request,
        "login.html",
        {
            "csrf": token,
            "errors": errors or {},
            "values": values or {},
            "next": _safe_next(request.query_params.get("next")),
        },
        status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https", path=PATH
    )
    return response


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    return RedirectResponse(f"{PATH}/sources", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        async with runtime.db.session() as session:
            await viewer_from_cookie(session, runtime.box, request.cookies.get(COOKIE))
        return RedirectResponse(f"{PATH}/sources", status_code=303)
    except NotLoggedIn:
        return _form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    cookie_token = request.cookies.get(LOGIN_COOKIE)
    if not cookie_token:
        raise CsrfRefused
    check_csrf(cookie_token, form.get("csrf_token"))
    values = {name: str(form.get(name) or "").strip() for name in ("tenant", "principal")}
    password = str(form.get("password") or "")
    errors: dict[str, str] = {}
    if not values["principal"]:
        errors["principal"] = "Enter your principal (your login name)."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return _form(request, errors=errors, values=values, status_code=400)

    runtime = runtime_of(request)
    ttl = runtime.settings.session_ttl
    address = client_address(request)
    try:
        if not values["tenant"]:
            opened = await operators.login_operator(
                runtime.db,
                runtime.box,
                runtime.guard,
                values["principal"],
                password,
                address=address,
                ttl_seconds=ttl,
            )
            value = cookie_value("operator", opened.token)
        else:
            async with runtime.db.session() as session:
                tenant = await credential_store.get_tenant_by_name(session, values["tenant"])
            partner = await auth.login_partner(
                runtime.db,
                runtime.box,
                runtime.guard,
                tenant.id,
                values["principal"],
                password,
                address=address,
                ttl_seconds=ttl,
            )
            value = cookie_value("partner", partner.token, tenant.id)
    except (InvalidCredentials, NotFound):
        return _form(request, errors={"form": WRONG}, values=values, status_code=400)
    except RateLimited as exc:
        wait = f"Too many sign-in attempts: try again in {exc.retry_after} seconds."
        refused = _form(request, errors={"form": wait}, values=values, status_code=429)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        COOKIE,
        value,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=PATH,
    )
    response.delete_cookie(LOGIN_COOKIE, path=PATH)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await request.form()
    async with runtime.db.session() as session:
        viewer = await viewer_from_cookie(session, runtime.box, request.cookies.get(COOKIE))
        check_csrf(viewer.csrf_token(runtime.box), form.get("csrf_token"))
        if viewer.is_operator:
            await operators.logout_operator(session, runtime.box, viewer.token)
        else:
            assert viewer.tenant_id is not None
            await auth.logout(session, runtime.box, viewer.tenant_id, viewer.token)
    response = RedirectResponse(f"{PATH}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response
