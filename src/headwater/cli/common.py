"""What every command shares: the Typer app, settings, a runtime, and output as text or JSON.

``headwater --help`` must answer at once, so nothing heavy is imported here or at the top of a
command module: the database, the HTTP stack, pyarrow and rich are imported inside the commands.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer import _click as click
from typer.core import TyperCommand

from headwater import __version__
from headwater.clock import iso_millis
from headwater.errors import ConfigurationError, HeadwaterError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.ext.asyncio import AsyncSession

    from headwater.runtime import Runtime
    from headwater.settings import Settings
    from headwater.store.tables import Tenant

T = TypeVar("T")

# What a command does with the store: one session (one transaction) of a fresh runtime.
SessionWork = Callable[["Runtime", "AsyncSession"], Awaitable[T]]
TenantWork = Callable[["Runtime", "AsyncSession", "Tenant"], Awaitable[T]]
# What a list command answers for the tenant it is given by name.
TenantRows = Callable[["Runtime", "AsyncSession", str], Awaitable[list[dict[str, Any]]]]


class _PlainHelpCommand(TyperCommand):
    """Help that names each value (``--tenant NAME``, ``SOURCE_ID``) without Python types (``<int>``)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((param.metavar or (param.name or "").upper(), record[1]))
            else:
                options.append(record)
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


class _Typer(typer.Typer):
    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", _PlainHelpCommand)
        return super().command(*args, **kwargs)


def sub_app(help: str) -> typer.Typer:
    """A command group; plain help (no rich boxes, no ``<str>`` after each value)."""
    return _Typer(no_args_is_help=True, rich_markup_mode=None, help=help)


app = _Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="headwater: a self-hosted data-source hub.",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"headwater {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """headwater: a self-hosted data-source hub."""


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", metavar="URL", help="Overrides HEADWATER_DATABASE_URL.", show_default=False
    ),
]
TenantOption = Annotated[str, typer.Option("--tenant", metavar="NAME", help="The tenant's name.")]


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr)


def build_settings(database_url: str | None = None, **overrides: Any) -> Settings:
    """The settings of the environment and the env file; ``ConfigurationError`` when they do not parse."""
    from pydantic import ValidationError

    from headwater.settings import load_settings

    values = {k: v for k, v in overrides.items() if v is not None}
    if database_url is not None:
        values["database_url"] = database_url
    try:
        return load_settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"HEADWATER_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from exc


def with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]], *, create: bool = False) -> T:
    """``work`` in a runtime of its own; only ``create`` (serve, migrate) may make a new store or key."""
    import asyncio

    from headwater.runtime import open_runtime

    async def main() -> T:
        async with open_runtime(settings, create=create) as runtime:
            return await work(runtime)

    return asyncio.run(main())


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def run_or_fail(settings: Settings, work: Callable[[Runtime], Awaitable[T]], as_json: bool) -> T:
    """``work`` in a fresh runtime; a headwater error ends the command as ``exit_on_error`` says.

    The command's answer is standard output: log lines go to standard error, warnings and worse
    unless ``HEADWATER_LOG_LEVEL`` asks for DEBUG."""
    from headwater.logging import configure_logging

    quiet = (
        "DEBUG" if settings.log_level == "DEBUG" else max(settings.log_level, "WARNING", key=_LEVELS.index)
    )
    configure_logging(settings.model_copy(update={"log_level": quiet}))
    with exit_on_error(as_json):
        return with_runtime(settings, work)


def settings_or_fail(database_url: str | None, as_json: bool, **overrides: Any) -> Settings:
    with exit_on_error(as_json):
        return build_settings(database_url, **overrides)


def in_session(work: SessionWork[T]) -> Callable[[Runtime], Awaitable[T]]:
    """``work`` given a session of the runtime: what it changes is committed when it returns."""

    async def run(runtime: Runtime) -> T:
        async with runtime.db.session() as session:
            return await work(runtime, session)

    return run


def of_tenant(name: str, work: TenantWork[T]) -> SessionWork[T]:
    """``work`` given the tenant named ``name``; a name no tenant has ends the command as not found."""

    async def run(runtime: Runtime, session: AsyncSession) -> T:
        from headwater.store.credentials import get_tenant_by_name

        return await work(runtime, session, await get_tenant_by_name(session, name))

    return run


def emit_work(
    database_url: str | None,
    work: SessionWork[Mapping[str, Any]],
    as_json: bool,
    *,
    title: str,
) -> None:
    """What most commands do: build the settings, run ``work`` in a session, show the object it answers."""
    settings = settings_or_fail(database_url, as_json)
    emit(run_or_fail(settings, in_session(work), as_json), as_json, title=title)


def emit_list(
    database_url: str | None,
    key: str,
    work: SessionWork[list[dict[str, Any]]],
    as_json: bool,
    *,
    title: str,
) -> None:
    """What the list commands do: build the settings, run ``work`` in a session, show the rows it answers."""
    settings = settings_or_fail(database_url, as_json)
    emit_rows(key, run_or_fail(settings, in_session(work), as_json), as_json, title=title)


def with_password(shown: dict[str, Any], generated_password: str | None) -> dict[str, Any]:
    """``shown`` and, when headwater chose the password, that password: shown this once only."""
    return shown if generated_password is None else {**shown, "password": generated_password}


def tenant_list_command(key: str, rows: TenantRows, *, title: str, doc: str) -> Callable[..., None]:
    """A command of the form ``X list --tenant NAME``: which ``rows``, under which ``key``, is all that differs."""

    def command(
        tenant: TenantOption, database_url: DatabaseUrlOption = None, as_json: JsonOption = False
    ) -> None:
        async def work(runtime: Runtime, session: AsyncSession) -> list[dict[str, Any]]:
            return await rows(runtime, session, tenant)

        emit_list(database_url, key, work, as_json, title=title)

    command.__doc__ = doc
    return command


def emit(data: Mapping[str, Any], as_json: bool, *, title: str | None = None) -> None:
    """One JSON object with ``--json``; otherwise a small two-column table."""
    if as_json:
        sys.stdout.write(json.dumps(data, default=_as_text) + "\n")
        return
    from rich.table import Table

    table = Table(title=title, show_header=False)
    for key, value in data.items():
        table.add_row(str(key), _cell(value))
    console().print(table)


def emit_rows(key: str, rows: list[dict[str, Any]], as_json: bool, *, title: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps({key: rows}, default=_as_text) + "\n")
        return
    from rich.table import Table

    table = Table(title=title)
    for column in rows[0].keys() if rows else ["(none)"]:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    console().print(table)


def _as_text(value: Any) -> str:
    """What JSON has no type for; times as every other answer writes them (``clock.iso_millis``)."""
    if isinstance(value, datetime):
        return iso_millis(value) or ""
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(_as_text, value))
    return _as_text(value)


def fail(error: HeadwaterError | str, as_json: bool, exit_code: int = 1) -> typer.Exit:
    message = error.message if isinstance(error, HeadwaterError) else error
    code = error.code if isinstance(error, HeadwaterError) else "Error"
    if as_json:
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    else:
        # Not wrapped to the terminal's width: a path or a URL in the message stays whole.
        typer.echo(f"{typer.style('error:', fg='red')} {message}", err=True)
    return typer.Exit(exit_code)


@contextmanager
def exit_on_error(as_json: bool) -> Iterator[None]:
    """A headwater error raised in the block is printed (as text, or JSON with ``--json``).

    The exit code is 2 for a configuration problem (no store, no key, the wrong key, bad settings),
    1 for any other error.
    """
    try:
        yield
    except HeadwaterError as exc:
        raise fail(exc, as_json, exit_code=2 if isinstance(exc, ConfigurationError) else 1) from exc
