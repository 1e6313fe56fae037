"""structlog configuration, once per process. Nothing logged here carries a secret.

headwater's own lines and those of the libraries that log through the standard library (uvicorn's
server and access lines, alembic, SQLAlchemy) go through the same renderer, so with
``HEADWATER_LOG_JSON=true`` every line on standard error is one JSON object.
"""

from __future__ import annotations

import logging
import sys

import structlog

from headwater.settings import Settings

# uvicorn and alembic configure their own handlers unless told otherwise; ours replace them.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic")
_HANDLER_NAME = "headwater"


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, settings.log_level)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name, timestamper],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replaces the handler an earlier call installed; leaves others alone (a test's log capture).
    root.handlers = [existing for existing in root.handlers if existing.get_name() != _HANDLER_NAME]
    root.addHandler(handler)
    root.setLevel(level)
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers = []
        library.propagate = True
    # At DEBUG, SQLAlchemy would print every result row and aiosqlite every statement with its parameters
    # (token digests, password hashes, encrypted secrets): SQL statements at most, their parameters
    # hidden by the engines (hide_parameters).
    # Only at DEBUG do statements show (SQLAlchemy logs them at INFO); otherwise its own WARNING holds.
    logging.getLogger("sqlalchemy.engine").setLevel(
        logging.INFO if level <= logging.DEBUG else logging.WARNING
    )
    logging.getLogger("aiosqlite").setLevel(max(level, logging.INFO))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
