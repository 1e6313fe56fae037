"""``headwater serve`` and ``headwater migrate``."""

from __future__ import annotations

import logging
import re
from typing import Annotated

import typer
import uvicorn

from headwater.bootstrap import bootstrap, instructions
from headwater.cli.common import DatabaseUrlOption, JsonOption, build_settings, emit, with_runtime
from headwater.logging import configure_logging
from headwater.store import migrate as migrations

_SECRET_QUERY = re.compile(r"(?i)([?&](?:token|password|secret|api_key|apikey|key)=)[^&\s]*")


class _RedactQuerySecrets(logging.Filter):
    """Access-log lines show the request target; a touchpoint token in the query must not be logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1***", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to listen on.", show_default=False)] = None,
        port: Annotated[int | None, typer.Option(help="Port to listen on.", show_default=False)] = None,
        database_url: DatabaseUrlOption = None,
        worker_concurrency: Annotated[
            int | None,
            typer.Option(
                min=0,
                help="PostgreSQL: runs this process takes from the queue at once; 0 serves the APIs only.",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Apply migrations, serve the APIs and run imports (on PostgreSQL, also from other processes' queue)."""
        from headwater.api.app import create_app

        settings = build_settings(database_url, host=host, port=port, worker_concurrency=worker_concurrency)
        configure_logging(settings)
        logging.getLogger("uvicorn.access").addFilter(_RedactQuerySecrets())
        first = with_runtime(settings, bootstrap)  # migrates first, then makes the starter credentials
        if first is not None:
            # Printed for the operator, once; deliberately not through the logger.
            shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
            shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
            typer.echo(instructions(first, f"http://{shown_host}:{settings.port}"))
        app = create_app(settings, migrate_on_start=False)  # migrated just above
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None)

    @app.command()
    def migrate(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
        """Bring the database schema up to date."""
        settings = build_settings(database_url)
        migrations.upgrade(settings.database_url)
        emit({"migrated": True, "database": settings.database_url.split("@")[-1]}, as_json)
