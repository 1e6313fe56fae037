"""``headwater serve`` and ``headwater migrate``: the two commands that may create a new installation."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.common import (
    DatabaseUrlOption,
    JsonOption,
    emit,
    exit_on_error,
    settings_or_fail,
    with_runtime,
)

if TYPE_CHECKING:
    from headwater.runtime import Runtime

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
        host: Annotated[
            str | None, typer.Option(metavar="ADDRESS", help="Address to listen on.", show_default=False)
        ] = None,
        port: Annotated[
            int | None, typer.Option(metavar="PORT", help="Port to listen on.", show_default=False)
        ] = None,
        database_url: DatabaseUrlOption = None,
        worker_concurrency: Annotated[
            int | None,
            typer.Option(
                min=0,
                metavar="N",
                help="PostgreSQL: runs this process takes from the queue at once; 0 serves the APIs only.",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Apply migrations, serve the APIs and run imports (on PostgreSQL, also from other processes' queue)."""
        import uvicorn

        from headwater.api.app import create_app
        from headwater.bootstrap import bootstrap, instructions
        from headwater.logging import configure_logging

        settings = settings_or_fail(
            database_url, False, host=host, port=port, worker_concurrency=worker_concurrency
        )
        configure_logging(settings)
        logging.getLogger("uvicorn.access").addFilter(_RedactQuerySecrets())
        with exit_on_error(as_json=False):
            # Creates or migrates the store and the key, checks the key, makes the starter credentials.
            first = with_runtime(settings, bootstrap, create=True)
        if first is not None:
            # Printed for the operator, once; deliberately not through the logger.
            shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
            shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
            typer.echo(instructions(first, f"http://{shown_host}:{settings.port}"))
        app = create_app(settings, migrate_on_start=False)  # migrated just above
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None)

    @app.command()
    def migrate(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
        """Create the store (and the key file) or bring its schema up to date."""
        from headwater.store.migrate import shown_url

        settings = settings_or_fail(database_url, as_json)

        async def nothing_more(runtime: Runtime) -> None:
            """Opening the runtime migrates the store and records or checks the key's fingerprint."""

        with exit_on_error(as_json):
            with_runtime(settings, nothing_more, create=True)
        emit({"migrated": True, "database": shown_url(settings.database_url)}, as_json)
