"""The integration API's route index: a request it serves reaches the route the walk through the routes
would choose, and anything else (unknown paths, wrong methods, trailing slashes) answers as before.

"Before" is the same application with the index taken out of its router, so that the walk alone
chooses; the answers are compared whole (status, headers, body).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from headwater.api import integration
from headwater.api.route_index import RouteIndex
from headwater.settings import Settings

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _without_index(app: FastAPI) -> FastAPI:
    app.router.routes[:] = [route for route in app.router.routes if not isinstance(route, RouteIndex)]
    return app


def _index_of(app: FastAPI) -> RouteIndex:
    found = [route for route in app.router.routes if isinstance(route, RouteIndex)]
    assert len(found) == 1 and app.router.routes[0] is found[0]
    return found[0]


def _walk(routes: list[BaseRoute], method: str, path: str) -> BaseRoute | None:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {}}
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def test_the_index_chooses_as_the_walk_does(settings: Settings) -> None:
    app = integration.create_app(settings)
    index = _index_of(app)
    walked = app.router.routes[1:]
    paths = {route.path for route in walked if isinstance(route, APIRoute)}
    paths |= {"/dataSources/test", "/warehouses", "/partnerSales/", "/openapi.json"}
    for path in paths:
        for method in METHODS:
            chosen = index.routes.get((method, path))
            if chosen is not None:
                assert chosen is _walk(walked, method, path), (method, path)
    # Every list of a resource and the creation of a data source are served by the index.
    assert index.routes[("GET", "/partnerSales")].path == "/partnerSales"
    assert index.routes[("POST", "/dataSources")].path == "/dataSources"
    assert index.routes[("GET", "/dataSources")].methods == {"GET"}
    # A literal path that a route with parameters takes first stays that route's.
    assert index.routes[("POST", "/dataSources/test")] is _walk(walked, "POST", "/dataSources/test")
    assert ("GET", "/dataSources/test") not in index.routes


def test_the_index_has_no_url_of_its_own(settings: Settings) -> None:
    app = integration.create_app(settings)
    assert app.url_path_for("openapi") == "/openapi.json"


@pytest.fixture
async def both(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of the /prod application with its index and without it."""
    indexed = integration.create_app(settings)
    walked = _without_index(integration.create_app(settings))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=indexed), base_url="http://t") as with_index,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=walked), base_url="http://t") as without,
    ):
        yield with_index, without


def _shown(response: httpx.Response) -> tuple[int, list[tuple[str, str]], str]:
    # An internal error names a new request id each time.
    body = re.sub(r"[0-9a-f]{32}", "<id>", response.text)
    headers = [(k, v) for k, v in response.headers.items() if k != "content-length"]
    return response.status_code, headers, body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/warehouses"),  # an unknown resource: 404
        ("GET", "/"),
        ("DELETE", "/partnerSales"),  # a method the path does not take: 405
        ("POST", "/partnerSales"),
        ("HEAD", "/partnerSales"),
        ("PUT", "/dataSources"),
        ("OPTIONS", "/dataSources"),
        ("DELETE", "/dataSources/1"),
        ("GET", "/partnerSales/"),  # a trailing slash: the redirect
        ("GET", "/openapi.json/"),
        ("POST", "/docs"),
        ("GET", "/dataSources/test"),  # a route with parameters takes it
        ("GET", "/partnerSales"),  # served by the index, failing alike without a runtime
        ("POST", "/dataSources"),
    ],
)
async def test_answers_are_those_of_the_walk(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], method: str, path: str
) -> None:
    with_index, without = both
    answered = await with_index.request(method, path, follow_redirects=False)
    assert _shown(answered) == _shown(await without.request(method, path, follow_redirects=False))
    if path == "/warehouses":
        assert (answered.status_code, answered.json()) == (404, {"message": "Not Found"})
    if (method, path) == ("DELETE", "/partnerSales"):
        assert (answered.status_code, answered.json()) == (405, {"message": "Method Not Allowed"})
