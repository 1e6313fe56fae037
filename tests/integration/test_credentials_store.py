"""Tenants, touchpoints, partners and sessions in the store, and the authentication built on them."""

from __future__ import annotations

import pytest

from headwater.access import auth, credentials
from headwater.access.crypto import SecretBox, verify_secret
from headwater.bootstrap import DEFAULT_TENANT, bootstrap
from headwater.errors import Conflict, NotFound, ValidationFailed
from headwater.runtime import Runtime
from headwater.store import credentials as store
from headwater.store.tables import Touchpoint

ADDRESS = "192.0.2.1"


async def _touchpoint(
    runtime: Runtime,
    box: SecretBox,
    code: str | None,
    token: str | None,
    cache: auth.VerifiedCache[auth.TouchpointContext] | None = None,
) -> auth.TouchpointContext:
    return await auth.authenticate_touchpoint(
        runtime.db, box, runtime.guard, code, token, address=ADDRESS, cache=cache
    )


async def _login(
    runtime: Runtime, tenant_id: int, principal: str, password: str, current_token: str | None = None
) -> auth.NewSession:
    return await auth.login_partner(
        runtime.db,
        runtime.box,
        runtime.guard,
        tenant_id,
        principal,
        password,
        address=ADDRESS,
        ttl_seconds=60,
        current_token=current_token,
    )


async def _basic(runtime: Runtime, tenant_id: int, principal: str, password: str) -> auth.PartnerContext:
    return await auth.partner_from_basic(
        runtime.db, runtime.box, runtime.guard, tenant_id, principal, password, address=ADDRESS
    )


async def test_tenant_names_are_unique_and_found_by_name(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        created = await credentials.create_tenant(session, "  acme ")
        assert created.name == "acme"
        assert (await store.get_tenant_by_name(session, "acme")).id == created.id
        with pytest.raises(Conflict):
            await credentials.create_tenant(session, "acme")
        with pytest.raises(NotFound):
            await store.get_tenant_by_name(session, "nobody")
        with pytest.raises(ValidationFailed):
            await credentials.create_tenant(session, "   ")
        assert [t.name for t in await store.list_tenants(session)] == ["acme"]


async def test_a_touchpoint_token_is_stored_only_as_digest_and_hash(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, "acme")
        issued = await credentials.create_touchpoint(session, runtime.box, tenant.id, "REST02")
        stored: Touchpoint = issued.touchpoint
        assert issued.token not in (stored.token_digest, stored.token_hash)
        assert stored.token_digest == runtime.box.digest(issued.token)
        assert verify_secret(stored.token_hash, issued.token)
        assert issued.token not in repr(issued)
        with pytest.raises(Conflict):
            await credentials.create_touchpoint(session, runtime.box, tenant.id, "REST02")
        with pytest.raises(ValidationFailed):
            await credentials.create_touchpoint(session, runtime.box, tenant.id, "no spaces")


async def test_the_same_code_in_two_tenants_leads_each_token_to_its_own_tenant(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        a = await credentials.create_tenant(session, "a")
        b = await credentials.create_tenant(session, "b")
        token_a = (await credentials.create_touchpoint(session, runtime.box, a.id, "web")).token
        token_b = (await credentials.create_touchpoint(session, runtime.box, b.id, "web")).token
    found_a = await _touchpoint(runtime, runtime.box, "web", token_a)
    found_b = await _touchpoint(runtime, runtime.box, "web", token_b)
    assert (found_a.tenant_id, found_b.tenant_id) == (a.id, b.id)
    for code, token in (
        ("web", "guess"),
        ("other", token_a),
        ("", token_a),
        ("web", None),
        ("w\x00", token_a),
    ):
        with pytest.raises(auth.InvalidTouchpoint):
            await _touchpoint(runtime, runtime.box, code, token)


async def test_a_token_issued_before_a_key_rotation_still_authenticates(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, "acme")
        token = (await credentials.create_touchpoint(session, runtime.box, tenant.id, "web")).token
    old_key = runtime.settings.secret_key
    assert old_key is not None
    rotated = SecretBox([SecretBox.generate_key(), old_key.get_secret_value()])
    found = await _touchpoint(runtime, rotated, "web", token)
    assert found.tenant_id == tenant.id


async def test_the_cache_spares_argon2_for_a_token_verified_recently(runtime: Runtime) -> None:
    cache: auth.VerifiedCache[auth.TouchpointContext] = auth.VerifiedCache()
    async with runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, "acme")
        token = (await credentials.create_touchpoint(session, runtime.box, tenant.id, "web")).token
    first = await _touchpoint(runtime, runtime.box, "web", token, cache=cache)
    assert cache.get(f"web\x00{runtime.box.digest(token)}") == first
    with pytest.raises(auth.InvalidTouchpoint):
        await _touchpoint(runtime, runtime.box, "web", token + "x", cache=cache)


async def test_partner_login_session_and_logout(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        tenant = await credentials.create_tenant(session, "acme")
        issued = await credentials.create_partner(session, tenant.id, "ada", password="analytical engine")
        assert issued.generated_password is None
        assert issued.partner.password_hash != "analytical engine"
    with pytest.raises(auth.InvalidCredentials):
        await _login(runtime, tenant.id, "ada", "wrong")
    opened = await _login(runtime, tenant.id, "ada", "analytical engine")
    with pytest.raises(auth.AlreadyLoggedIn):
        await _login(runtime, tenant.id, "ada", "analytical engine", current_token=opened.token)
    async with runtime.db.session() as session:
        partner = await auth.partner_from_session(session, runtime.box, tenant.id, opened.token)
        assert (partner.principal, partner.session_id) == ("ada", opened.partner.session_id)
        with pytest.raises(auth.NotLoggedIn):
            await auth.partner_from_session(session, runtime.box, tenant.id + 1, opened.token)
        await auth.logout(session, runtime.box, tenant.id, opened.token)
        with pytest.raises(auth.NotLoggedIn):
            await auth.partner_from_session(session, runtime.box, tenant.id, opened.token)
        with pytest.raises(auth.NotLoggedIn):
            await auth.logout(session, runtime.box, tenant.id, opened.token)


async def test_partner_principals_are_unique_per_tenant_and_passwords_checked(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        a = await credentials.create_tenant(session, "a")
        b = await credentials.create_tenant(session, "b")
        generated = await credentials.create_partner(session, a.id, "ada")
        assert generated.generated_password is not None
        await credentials.create_partner(session, b.id, "ada", password="another password")
        with pytest.raises(Conflict):
            await credentials.create_partner(session, a.id, "ada", password="whatever123")
        for principal, password in (("x:y", "long enough"), ("ok", "short"), ("", "long enough")):
            with pytest.raises(ValidationFailed):
                await credentials.create_partner(session, a.id, principal, password=password)
    found = await _basic(runtime, a.id, "ada", generated.generated_password)
    assert found.tenant_id == a.id
    with pytest.raises(auth.InvalidCredentials):
        await _basic(runtime, a.id, "ada", "another password")


async def test_the_first_start_creates_credentials_once(runtime: Runtime) -> None:
    first = await bootstrap(runtime)
    assert first is not None
    assert first.tenant == DEFAULT_TENANT
    assert await bootstrap(runtime) is None
    touchpoint = await _touchpoint(runtime, runtime.box, first.touchpoint_code, first.token)
    partner = await _basic(runtime, touchpoint.tenant_id, first.principal, first.password)
    assert partner.principal == first.principal
    async with runtime.db.session() as session:
        assert len(await store.list_tenants(session)) == 1
