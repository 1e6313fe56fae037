"""Routes without path parameters found by one dictionary look-up, ahead of the walk through every route.

A router tries its routes in order until one matches both path and method, and a dialect with one list
route per resource makes a request to a late resource try some fifty patterns first. ``RouteIndex``,
put first among a router's routes, knows for each (method, path) of a route without parameters which
route the walk would choose, because it asked the routes in the same order when it was built. Anything
else (an unknown path, a method the path does not take, a path with parameters) it leaves to the walk,
so 404 and 405 answers stay the router's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

# Set by FastAPI when OpenTelemetry is configured: the walk then names the chosen route in the request's
# span, which the index would not, so such requests take the walk.
_TELEMETRY_KEY = "fastapi.telemetry"


def _chosen(routes: Sequence[BaseRoute], method: str, path: str) -> BaseRoute | None:
    """The route the walk gives a request for ``method`` and ``path``: the first that fully matches."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {}}
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


class RouteIndex(BaseRoute):
    """The routes of ``routes`` without path parameters, by method and path (see the module)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes: dict[tuple[str, str], APIRoute] = {}
        for route in routes:
            if not isinstance(route, APIRoute) or route.param_convertors:
                continue
            for method in route.methods or ():
                if _chosen(routes, method, route.path) is route:
                    self.routes[(method, route.path)] = route

    def _route_of(self, scope: Scope) -> APIRoute | None:
        if scope["type"] != "http" or _TELEMETRY_KEY in scope:
            return None
        return self.routes.get((scope["method"], get_route_path(scope)))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        route = self._route_of(scope)
        if route is None:
            return Match.NONE, {}
        return route.matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route_of(scope)
        assert route is not None  # the router hands a request over only after ``matches`` found its route
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the indexed routes answer for their own names


__all__ = ["RouteIndex"]
