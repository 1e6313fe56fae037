"""``headwater runs`` and ``headwater source list``: what the APIs show of runs, for the operator."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from headwater.ingest.uploads import import_upload
from headwater.runtime import open_runtime
from headwater.settings import Settings
from tests.support.cli import cli_settings, headwater, headwater_json
from tests.support.tenants import make_source, make_tenancy

GOOD = b"saleDate,transactionId,quantity,amount,partnerSkuCode\n2026-01-02,T1,1,1,SKU-1\nbad,T2,1,1,SKU-2\n"
UNREADABLE = b"\x00\x01 not a table"


def provision(settings: Settings) -> tuple[int, int]:
    """A source of ``acme`` with a good upload then an unreadable one, and a source of ``other``."""

    async def main() -> tuple[int, int]:
        async with open_runtime(settings) as runtime:
            acme = await make_tenancy(runtime)
            other = await make_tenancy(runtime, name="other", code="REST02")
            source = await make_source(runtime, acme, schedule="0 3 * * *")
            elsewhere = await make_source(runtime, other)
            for content in (GOOD, UNREADABLE):
                await import_upload(
                    runtime,
                    acme.tenant_id,
                    source_id=source.id,
                    name="sales.csv",
                    processor_type=None,
                    data=io.BytesIO(content),
                )
            return source.id, elsewhere.id

    return asyncio.run(main())


def iso(text: str) -> datetime:
    assert text.endswith("Z") and len(text) == len("2026-01-02T03:04:05.678Z")
    return datetime.fromisoformat(text)


def test_runs_lists_a_sources_runs_newest_first_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = cli_settings(tmp_path, monkeypatch)
    source_id, _ = provision(settings)

    shown = headwater_json(settings, "runs", str(source_id))["runs"]

    failed, succeeded = shown
    assert (failed["trigger"], failed["status"], failed["files"]) == ("upload", "failed", 1)
    assert failed["errorCode"] and failed["errorMessage"]
    assert (succeeded["status"], succeeded["rowsOk"], succeeded["rowsWithErrors"]) == ("succeeded", 1, 1)
    assert succeeded["errorCode"] is None
    assert iso(succeeded["startedAt"]) <= iso(succeeded["finishedAt"]) <= iso(failed["startedAt"])
    assert headwater_json(settings, "runs", str(source_id), "--limit", "1", "--offset", "1")["runs"] == [
        succeeded
    ]


def test_source_list_shows_each_sources_last_run_error_and_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = cli_settings(tmp_path, monkeypatch)
    source_id, elsewhere_id = provision(settings)
    [failed_run, _] = headwater_json(settings, "runs", str(source_id))["runs"]

    [source] = headwater_json(settings, "source", "list", "--tenant", "acme")["sources"]

    assert (source["id"], source["tenant"], source["schedule"]) == (source_id, "acme", "0 3 * * *")
    assert source["lastRunStatus"] == "failed"
    assert source["lastError"] == {
        "code": failed_run["errorCode"],
        "message": failed_run["errorMessage"],
        "at": failed_run["finishedAt"],
    }
    next_run = iso(source["nextRunTime"])
    assert (next_run.hour, next_run.minute) == (3, 0)
    everything = headwater_json(settings, "source", "list")["sources"]
    assert [(s["id"], s["tenant"], s["lastRunStatus"]) for s in everything] == [
        (source_id, "acme", "failed"),
        (elsewhere_id, "other", None),
    ]


def test_the_text_output_names_the_failure_and_unknown_ids_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = cli_settings(tmp_path, monkeypatch)
    source_id, _ = provision(settings)

    code, out = headwater(settings, "runs", str(source_id))
    assert code == 0 and "failed" in out and "succeeded" in out
    code, out = headwater(settings, "source", "list")
    assert code == 0 and "acme" in out and "0 3 * * *" in out

    code, out = headwater(settings, "runs", "999", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "NotFound"
    code, out = headwater(settings, "source", "list", "--tenant", "nobody", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "NotFound"
