"""Source secrets through the partner API: masked in every answer, absent from logs, kept on a masked PUT."""

from __future__ import annotations

import logging

import asyncssh
import httpx
import pytest

from headwater.store import sources as source_store
from tests.conftest import AppClient, runtime_of
from tests.integration.partner_support import SEED_REQUEST, Caller, login, provision

DATASOURCES = "/api/v4/partner/datasources"
PASSWORD = "s3cr3t-ftp-password-7731"
PASSPHRASE = "open sesame 4412"


@pytest.fixture(scope="module")
def private_key() -> str:
    key = asyncssh.generate_private_key("ssh-ed25519")
    return key.export_private_key(passphrase=PASSPHRASE).decode()


def _key_lines(key: str) -> list[str]:
    return [line for line in key.splitlines() if line and not line.startswith("-----")]


async def test_secrets_never_appear_in_answers_or_logs(
    app_client: AppClient,
    private_key: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    app, client = app_client
    caller = await provision(runtime_of(app))
    answers: list[httpx.Response] = [await login(client, caller)]
    certificate = {
        **SEED_REQUEST,
        "dataSourceType": "SFTP",
        "authenticationType": "CERTIFICATE",
        "password": PASSWORD,
        "privateKeyFile": private_key,
        "passphrase": PASSPHRASE,
    }
    created = await client.post(DATASOURCES, headers=caller.touchpoint_headers, json=certificate)
    assert created.status_code == 201, created.text
    datasource = created.json()["datasource"]
    assert (datasource["password"], datasource["privateKeyFile"], datasource["passphrase"]) == (
        "********",
    ) * 3
    url = f"{DATASOURCES}/{datasource['id']}"
    answers += [
        created,
        await client.get(url, headers=caller.touchpoint_headers),
        await client.get(DATASOURCES, headers=caller.touchpoint_headers),
        await client.put(url, headers=caller.touchpoint_headers, json=certificate),
        # Invalid bodies must not echo what they were sent.
        await client.put(
            url, headers=caller.touchpoint_headers, json={**certificate, "passphrase": "wrong one"}
        ),
        await client.post(DATASOURCES, headers=caller.touchpoint_headers, json={**certificate, "host": None}),
        await client.post(
            DATASOURCES, headers=caller.touchpoint_headers, content=f'{{"password": "{PASSWORD}"'.encode()
        ),
        await client.post(
            "/api/v4/login",
            headers=caller.touchpoint_headers,
            json={"principal": caller.principal, "password": caller.password},
        ),
    ]
    assert [a.status_code for a in answers[-4:]] == [400, 400, 400, 400]
    captured = capsys.readouterr()
    seen = [a.text for a in answers] + [caplog.text, captured.out, captured.err]
    secrets = [PASSWORD, PASSPHRASE, caller.token, caller.password, *_key_lines(private_key)]
    for text in seen:
        for secret in secrets:
            assert secret not in text


async def test_a_put_sending_the_mask_keeps_the_stored_secrets(
    app_client: AppClient, private_key: str
) -> None:
    app, client = app_client
    runtime = runtime_of(app)
    caller: Caller = await provision(runtime)
    body = {
        **SEED_REQUEST,
        "dataSourceType": "SFTP",
        "authenticationType": "CERTIFICATE",
        "password": PASSWORD,
        "privateKeyFile": private_key,
        "passphrase": PASSPHRASE,
    }
    created = await client.post(DATASOURCES, headers=caller.touchpoint_headers, auth=caller.basic, json=body)
    source_id = created.json()["datasource"]["id"]
    masked = {**body, "password": "********", "privateKeyFile": "********", "passphrase": "********"}
    changed = await client.put(
        f"{DATASOURCES}/{source_id}",
        headers=caller.touchpoint_headers,
        auth=caller.basic,
        json={**masked, "workingDirectory": "/elsewhere"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["datasource"]["workingDirectory"] == "/elsewhere"
    async with runtime.db.session() as session:
        stored = await source_store.get(session, caller.tenant_id, source_id)
        assert runtime.box.decrypt_optional(stored.password_enc) == PASSWORD
        assert runtime.box.decrypt_optional(stored.private_key_enc) == private_key
        assert runtime.box.decrypt_optional(stored.passphrase_enc) == PASSPHRASE

    replaced = await client.put(
        f"{DATASOURCES}/{source_id}",
        headers=caller.touchpoint_headers,
        auth=caller.basic,
        json={**SEED_REQUEST, "password": "a brand new one"},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["datasource"]["privateKeyFile"] is None
    async with runtime.db.session() as session:
        stored = await source_store.get(session, caller.tenant_id, source_id)
        assert runtime.box.decrypt_optional(stored.password_enc) == "a brand new one"
        assert stored.private_key_enc is None
