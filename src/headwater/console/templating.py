"""The console's Jinja2 environment: templates shipped in the package, autoescaped, with a few filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from headwater.clock import iso_millis, minutes_utc

_env = Environment(
    loader=PackageLoader("headwater.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(value: datetime | None, empty: str = "—") -> Markup:
    """A time the browser shows in its own time zone (console.js); UTC without JavaScript."""
    if value is None:
        return Markup(escape(empty))
    # Both are written from a datetime (digits, '-', ':', 'T', 'Z', ' '), so nothing needs escaping.
    return Markup(f'<time datetime="{iso_millis(value)}">{minutes_utc(value)}</time>')


@cache
def _sparkline_xs(count: int, width: int) -> tuple[str, ...]:
    """The x of each point, the same for every sparkline of the page: formatted once per process."""
    step = width / max(count - 1, 1)
    return tuple(f"{index * step:.1f}," for index in range(count))


def sparkline(values: Sequence[int], width: int = 120, height: int = 24) -> Markup:
    """A small SVG polyline of ``values``, drawn on the server: no chart library, no inline script."""
    if not values:
        return Markup("")
    top = max(values) or 1
    span = height - 4
    bottom = height - 2
    xs = _sparkline_xs(len(values), width)
    points = " ".join(f"{x}{bottom - (value / top) * span:.1f}" for x, value in zip(xs, values, strict=True))
    label = f"{int(sum(values))} rows in {len(values)} days"
    # Only numbers formatted here: marked safe once, without escaping each part.
    return Markup(
        f'<svg class="spark" viewBox="0 0 {int(width)} {int(height)}" width="{int(width)}" height="{int(height)}"'
        f' role="img" aria-label="{label}"><polyline points="{points}" fill="none" stroke="currentColor"'
        ' stroke-width="1.5"/></svg>'
    )


@cache
def _bar_slots(count: int, width: int) -> tuple[tuple[str, str], ...]:
    """The x and width of each bar, the same for every chart of the page: formatted once per process."""
    slot = width / count
    bar_width = f"{max(slot - 2, 1):.1f}"
    return tuple((f"{index * slot + 1:.1f}", bar_width) for index in range(count))


def bars(imported: Sequence[int], rejected: Sequence[int], width: int = 600, height: int = 120) -> Markup:
    """Stacked daily bars: imported rows below, rejected rows on top; each bar titled with its day's figures.

    Everything written into the SVG is a number formatted here, so it is built as one string and marked
    safe once: formatting each bar through ``Markup`` cost more than the rest of the charts page.
    """
    if not imported:
        return Markup("")
    top = max((ok + bad for ok, bad in zip(imported, rejected, strict=True)), default=0) or 1
    span = height - 4
    parts = []
    for (x, bar_width), ok, bad in zip(_bar_slots(len(imported), width), imported, rejected, strict=True):
        ok, bad = int(ok), int(bad)
        ok_height = (ok / top) * span
        bad_height = (bad / top) * span
        parts.append(
            f"<g><title>{ok} imported, {bad} rejected</title>"
            f'<rect class="ok" x="{x}" y="{height - ok_height:.1f}" width="{bar_width}" height="{ok_height:.1f}"/>'
            f'<rect class="bad" x="{x}" y="{height - ok_height - bad_height:.1f}" width="{bar_width}"'
            f' height="{bad_height:.1f}"/></g>'
        )
    label = f"{sum(imported)} rows imported and {sum(rejected)} rejected in {len(imported)} days"
    return Markup(
        f'<svg class="bars" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img"'
        f' aria-label="{label}">{"".join(parts)}</svg>'
    )


def number(value: int | float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,}".replace(",", "\u202f")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


_env.filters.update(when=when, sparkline=sparkline, bars=bars, number=number, percent=percent)


def render(
    request: Request, template: str, context: Mapping[str, Any], status_code: int = 200
) -> HTMLResponse:
    page = _env.get_template(template).render(request=request, **context)
    return HTMLResponse(page, status_code=status_code)
