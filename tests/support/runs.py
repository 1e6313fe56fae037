"""An app whose embedded runner imports: its settings, waiting until its runs are over, and what they wrote."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select

from headwater.ingest.jobs.embedded import EmbeddedRunner
from headwater.runtime import Runtime
from headwater.settings import Settings
from headwater.store.tables import PartnerSale
from tests.conftest import make_settings


def importing_settings(tmp_path: Path, **overrides: object) -> Settings:
    """A SQLite store in ``tmp_path`` and a runner that imports, but polls only when a test asks it to
    (the hourly poll never comes within a test)."""
    return make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'headwater.db'}",
        run_imports=True,
        poll_interval=3600,
        **overrides,
    )


async def wait_idle(app: FastAPI) -> None:
    """Until every run the app's embedded runner has queued or started is over."""
    runner = app.state.runtime.runner
    assert isinstance(runner, EmbeddedRunner)
    await runner.wait_idle()


async def sales_of(runtime: Runtime, source_id: int) -> list[str]:
    """The transaction ids of the source's imported sales, in order."""
    async with runtime.db.session() as session:
        found = await session.scalars(
            select(PartnerSale.transaction_id)
            .where(PartnerSale.data_source_id == source_id)
            .order_by(PartnerSale.transaction_id)
        )
        return list(found)
