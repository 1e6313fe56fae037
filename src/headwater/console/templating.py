"""The console's Jinja2 environment: templates shipped in the package, autoescaped, with a few filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from headwater.clock import as_utc, iso_millis

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
    iso = iso_millis(value)
    shown = as_utc(value).strftime("%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}">{}</time>').format(iso, shown)


def sparkline(values: Sequence[int], width: int = 120, height: int = 24) -> Markup:
    """A small SVG polyline of ``values``, drawn on the server: no chart library, no inline script."""
    if not values:
        return Markup("")
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{height - 2 - (value / top) * (height - 4):.1f}"
        for index, value in enumerate(values)
    )
    total = sum(values)
    return Markup(
        '<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}">'
        '<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>'
    ).format(w=width, h=height, points=points, label=f"{total} rows in {len(values)} days")


def bars(imported: Sequence[int], rejected: Sequence[int], width: int = 600, height: int = 120) -> Markup:
    """Stacked daily bars: imported rows below, rejected rows on top; each bar titled with its day's figures."""
    if not imported:
        return Markup("")
    top = max((ok + bad for ok, bad in zip(imported, rejected, strict=True)), default=0) or 1
    slot = width / len(imported)
    parts = []
    for index, (ok, bad) in enumerate(zip(imported, rejected, strict=True)):
        x = index * slot + 1
        ok_height = (ok / top) * (height - 4)
        bad_height = (bad / top) * (height - 4)
        parts.append(
            Markup(
                "<g><title>{ok} imported, {bad} rejected</title>"
                '<rect class="ok" x="{x:.1f}" y="{y1:.1f}" width="{w:.1f}" height="{h1:.1f}"/>'
                '<rect class="bad" x="{x:.1f}" y="{y2:.1f}" width="{w:.1f}" height="{h2:.1f}"/></g>'
            ).format(
                ok=ok,
                bad=bad,
                x=x,
                w=max(slot - 2, 1),
                y1=height - ok_height,
                h1=ok_height,
                y2=height - ok_height - bad_height,
                h2=bad_height,
            )
        )
    label = f"{sum(imported)} rows imported and {sum(rejected)} rejected in {len(imported)} days"
    return Markup(
        '<svg class="bars" viewBox="0 0 {w} {h}" preserveAspectRatio="none" role="img" aria-label="{label}">{body}</svg>'
    ).format(w=width, h=height, label=label, body=Markup("").join(parts))


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
