"""What every command shares: the Typer app, settings, a runtime, and output as text or JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from headwater.errors import HeadwaterError
from headwater.runtime import Runtime, open_runtime
from headwater.settings import Settings

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="headwater: a self-hosted data-source hub."
)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
DatabaseUrlOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides HEADWATER_DATABASE_URL.", show_default=False)
]


def build_settings(database_url: str | None = None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if database_url is not None:
        values["database_url"] = database_url
    return Settings(**values)


def with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def main() -> T:
        async with open_runtime(settings) as runtime:
            return await work(runtime)

    return asyncio.run(main())


def run_or_fail(settings: Settings, work: Callable[[Runtime], Awaitable[T]], as_json: bool) -> T:
    """``work`` in a fresh runtime; a headwater error ends the command as ``exit_on_error`` says."""
    with exit_on_error(as_json):
        return with_runtime(settings, work)


def emit_work(
    database_url: str | None,
    work: Callable[[Runtime], Awaitable[Mapping[str, Any]]],
    as_json: bool,
    *,
    title: str,
) -> None:
    """What most commands do: build the settings, run ``work``, show the object it answers."""
    emit(run_or_fail(build_settings(database_url), work, as_json), as_json, title=title)


def emit(data: Mapping[str, Any], as_json: bool, *, title: str | None = None) -> None:
    """One JSON object with ``--json``; otherwise a small two-column table."""
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        return
    table = Table(title=title, show_header=False)
    for key, value in data.items():
        table.add_row(str(key), "" if value is None else str(value))
    console.print(table)


def emit_rows(key: str, rows: list[dict[str, Any]], as_json: bool, *, title: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps({key: rows}, default=str) + "\n")
        return
    table = Table(title=title)
    for column in rows[0].keys() if rows else ["(none)"]:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)


def fail(error: HeadwaterError | str, as_json: bool, exit_code: int = 1) -> typer.Exit:
    message = error.message if isinstance(error, HeadwaterError) else error
    code = error.code if isinstance(error, HeadwaterError) else "Error"
    if as_json:
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    else:
        err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(exit_code)


@contextmanager
def exit_on_error(as_json: bool) -> Iterator[None]:
    """A headwater error raised in the block is printed (as text, or JSON with ``--json``) and exits 1."""
    try:
        yield
    except HeadwaterError as exc:
        raise fail(exc, as_json) from exc
