"""Endpoints: where a tenant's events go. Created with a signing secret shown once; the URL's host must
pass the same private-address guard as a source's server, here and again at every delivery."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access.crypto import SecretBox
from headwater.clock import utcnow
from headwater.errors import ConnectionFailed, FieldProblem, ValidationFailed
from headwater.ingest.connectors.hosts import HostPolicy
from headwater.ingest.source_checks import LOOKUP_TIMEOUT
from headwater.storable import storable
from headwater.store import webhooks as webhook_store
from headwater.store.tables import WebhookEndpoint
from headwater.webhooks import signing
from headwater.webhooks.events import ALL, EVENT_TYPES

MAX_URL = 2000
MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str


def _url_problem(url: Any) -> FieldProblem | None:
    if url is None or url == "":
        return FieldProblem("url", "UrlRequired", "url is required")
    if not isinstance(url, str) or not storable(url, MAX_URL):
        return FieldProblem(
            "url", "InvalidUrl", f"url: must be an http or https URL of at most {MAX_URL} characters"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        return FieldProblem("url", "InvalidUrl", "url: must be an http or https URL")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return FieldProblem("url", "InvalidUrl", "url: must be an http or https URL with a host and no user")
    return None


def _events(value: Any) -> list[str]:
    if value is None:
        return [ALL]
    if not isinstance(value, list) or not value or len(value) > len(EVENT_TYPES):
        raise ValidationFailed(
            [FieldProblem("events", "InvalidEvent", 'events: a list of event types, or ["*"]')]
        )
    chosen: list[str] = []
    for item in value:
        if not isinstance(item, str) or (item != ALL and item not in EVENT_TYPES):
            shown = repr(item)[:60]
            raise ValidationFailed(
                [FieldProblem("events", "InvalidEvent", f"events: {shown} is not an event type")]
            )
        if item not in chosen:
            chosen.append(item)
    return [ALL] if ALL in chosen else chosen


def _description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not storable(value, MAX_DESCRIPTION):
        raise ValidationFailed(
            [
                FieldProblem(
                    "description",
                    "InvalidDescription",
                    f"description: text of at most {MAX_DESCRIPTION} characters",
                )
            ]
        )
    return value


def _active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed([FieldProblem("active", "InvalidActive", "active: true or false")])
    return value


async def url_problem(policy: HostPolicy, url: Any) -> FieldProblem | None:
    """Why ``url`` cannot be an endpoint: not http(s), or its host is not public (unless allowed)."""
    problem = _url_problem(url)
    if problem is not None or policy.allow_private:
        return problem
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    bounded = replace(policy, lookup_timeout=min(policy.lookup_timeout, LOOKUP_TIMEOUT))
    try:
        addresses = await bounded.resolve(host, port)
    except ConnectionFailed as exc:
        return FieldProblem("url", "HostNotResolvable", f"url: {exc.message}")
    refused = bounded.first_refusal(host, addresses)
    if refused is not None:
        return FieldProblem("url", "HostNotAllowed", f"url: {refused}; headwater does not connect to it")
    return None


async def _checked_url(policy: HostPolicy, url: Any) -> str:
    problem = await url_problem(policy, url)
    if problem is not None:
        raise ValidationFailed([problem])
    assert isinstance(url, str)
    return url


async def create_endpoint(
    session: AsyncSession, tenant_id: int, body: dict[str, Any], box: SecretBox, *, hosts: HostPolicy
) -> CreatedEndpoint:
    """A new endpoint of the tenant, and its signing secret (shown this once; stored encrypted)."""
    # The cheap checks first: the URL's host may take a DNS lookup.
    events = _events(body.get("events"))
    description = _description(body.get("description"))
    active = _active(body.get("active", True))
    url = await _checked_url(hosts, body.get("url"))
    secret = signing.new_secret()
    now = utcnow()
    endpoint = await webhook_store.add_endpoint(
        session,
        WebhookEndpoint(
            tenant_id=tenant_id,
            url=url,
            events=events,
            description=description,
            active=active,
            secret_enc=box.encrypt(secret),
            created_at=now,
            updated_at=now,
        ),
    )
    return CreatedEndpoint(endpoint, secret)


async def update_endpoint(
    session: AsyncSession,
    tenant_id: int,
    endpoint_id: int,
    body: dict[str, Any],
    *,
    hosts: HostPolicy,
    partial: bool = True,
) -> WebhookEndpoint:
    """Change the fields ``body`` names (all of them unless ``partial``). Turning an endpoint on again
    clears why it was turned off."""
    endpoint = await webhook_store.get_endpoint(session, tenant_id, endpoint_id)
    if "url" in body or not partial:
        endpoint.url = await _checked_url(hosts, body.get("url"))
    if "events" in body or not partial:
        endpoint.events = _events(body.get("events"))
    if "description" in body or not partial:
        endpoint.description = _description(body.get("description"))
    if "active" in body or not partial:
        active = _active(body.get("active", True))
        if active and not endpoint.active:
            endpoint.disabled_reason = None
            endpoint.failing_since = None
        endpoint.active = active
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint


async def rotate_secret(
    session: AsyncSession, tenant_id: int, endpoint_id: int, box: SecretBox
) -> CreatedEndpoint:
    """A new signing secret; the old one signs nothing from now on."""
    endpoint = await webhook_store.get_endpoint(session, tenant_id, endpoint_id)
    secret = signing.new_secret()
    endpoint.secret_enc = box.encrypt(secret)
    endpoint.updated_at = utcnow()
    await session.flush()
    return CreatedEndpoint(endpoint, secret)


async def list_endpoints(session: AsyncSession, tenant_id: int) -> list[WebhookEndpoint]:
    return list(await webhook_store.list_endpoints(session, tenant_id))


async def get_endpoint(session: AsyncSession, tenant_id: int, endpoint_id: int) -> WebhookEndpoint:
    return await webhook_store.get_endpoint(session, tenant_id, endpoint_id)


async def delete_endpoint(session: AsyncSession, tenant_id: int, endpoint_id: int) -> None:
    endpoint = await webhook_store.get_endpoint(session, tenant_id, endpoint_id)
    await webhook_store.delete_endpoint(session, endpoint)


def describe(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The endpoint as every dialect shows it (times as datetimes; each dialect formats them)."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "active": endpoint.active,
        "disabledReason": endpoint.disabled_reason,
        "createdAt": endpoint.created_at,
        "updatedAt": endpoint.updated_at,
    }
