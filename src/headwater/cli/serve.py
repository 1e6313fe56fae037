"""``headwater serve`` and ``headwater migrate``."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from headwater.cli.common import DatabaseUrlOption, JsonOption, build_settings, emit
from headwater.logging import configure_logging
from headwater.store import migrate as migrations


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to listen on.", show_default=False)] = None,
        port: Annotated[int | None, typer.Option(help="Port to listen on.", show_default=False)] = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Apply migrations and serve the APIs (and, in embedded mode, run imports)."""
        from headwater.api.app import create_app

        settings = build_settings(database_url, host=host, port=port)
        configure_logging(settings)
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None)

    @app.command()
    def migrate(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
        """Bring the database schema up to date."""
        settings = build_settings(database_url)
        migrations.upgrade(settings.database_url)
        emit({"migrated": True, "database": settings.database_url.split("@")[-1]}, as_json)
