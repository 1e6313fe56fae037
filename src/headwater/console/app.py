"""The console as a sub-application mounted at ``/console``: pages, their assets, their errors."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater.access.auth import NotLoggedIn
from headwater.console import views
from headwater.console.session import PATH, CsrfRefused
from headwater.console.templating import render
from headwater.errors import NotFound

# Scripts and styles come only from headwater itself; nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _sign_in_first(request: Request, exc: Exception) -> Response:
    wanted = request.url.path
    target = f"{PATH}/login" + (
        f"?next={wanted}" if wanted.startswith(PATH + "/") and request.method == "GET" else ""
    )
    return RedirectResponse(target, status_code=303)


def _not_found(request: Request, exc: Exception) -> HTMLResponse:
    return render(request, "error.html", {"title": "Not found", "message": "There is nothing here."}, 404)


def _csrf_refused(request: Request, exc: Exception) -> HTMLResponse:
    message = (
        "The form had expired or did not come from this console. Go back, reload the page and try again."
    )
    return render(request, "error.html", {"title": "Form refused", "message": message}, 403)


def _http_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _not_found(request, exc)
    return render(
        request, "error.html", {"title": "Request refused", "message": str(exc.detail)}, exc.status_code
    )


def create_app() -> FastAPI:
    """The console; the whole app's lifespan sets ``state.runtime``."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(packages=[("headwater.console", "static")]), name="static")
    for router in views.routers():
        app.include_router(router)
    app.add_exception_handler(NotLoggedIn, _sign_in_first)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(SecurityHeaders)
    return app
