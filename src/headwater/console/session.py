"""Who is looking at the console: a partner (their own sources) or an operator (every tenant).

The session cookie holds a token whose keyed digest the store knows; a partner's console session is an
ordinary partner session, so revoking the partner or logging it out ends it everywhere at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access import auth, operators
from headwater.access.auth import NotLoggedIn
from headwater.access.crypto import SecretBox
from headwater.overview import Scope
from headwater.runtime import Runtime

COOKIE = "headwater_console"
LOGIN_COOKIE = "headwater_console_login"  # the login form's double-submit CSRF token
PATH = "/console"


@dataclass(frozen=True)
class Viewer:
    kind: Literal["partner", "operator"]
    principal: str
    token: str
    tenant_id: int | None = None
    partner_id: int | None = None

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"

    @property
    def scope(self) -> Scope:
        if self.is_operator:
            return Scope(tenant_id=None)
        return Scope(tenant_id=self.tenant_id, owner_partner_id=self.partner_id)

    def csrf_token(self, box: SecretBox) -> str:
        """Tied to the session: a new session (or a sign-out) invalidates every older form."""
        return box.digest(f"console-csrf\x00{self.token}")


def cookie_value(kind: Literal["partner", "operator"], token: str, tenant_id: int | None = None) -> str:
    return f"p.{tenant_id}.{token}" if kind == "partner" else f"o.{token}"


async def viewer_from_cookie(session: AsyncSession, box: SecretBox, raw: str | None) -> Viewer:
    """The viewer of a live session; ``NotLoggedIn`` for a missing, malformed, expired or ended one."""
    if not raw or len(raw) > 600:
        raise NotLoggedIn("sign in to use the console")
    kind, _, rest = raw.partition(".")
    if kind == "o":
        operator = await operators.operator_from_session(session, box, rest)
        return Viewer("operator", operator.principal, rest)
    if kind == "p":
        tenant, _, token = rest.partition(".")
        if not tenant.isdigit():
            raise NotLoggedIn("sign in to use the console")
        partner = await auth.partner_from_session(session, box, int(tenant), token)
        return Viewer("partner", partner.principal, token, partner.tenant_id, partner.partner_id)
    raise NotLoggedIn("sign in to use the console")


async def current_viewer(request: Request) -> Viewer:
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.session() as session:
        return await viewer_from_cookie(session, runtime.box, request.cookies.get(COOKIE))


class CsrfRefused(Exception):
    """A state-changing form without the token of the viewer's session."""


def check_csrf(expected: str, sent: object) -> None:
    if not isinstance(sent, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRefused


def new_login_token() -> str:
    return secrets.token_urlsafe(24)
