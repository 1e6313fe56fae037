"""Typed dependencies shared by the dialects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async, as every dependency on the hot path: FastAPI runs a plain ``def`` in a worker thread.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back when it raises."""
    async with runtime.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def client_address(request: Request) -> str:
    """The ASGI client address: the peer, or what a trusted proxy told uvicorn (``--proxy-headers``).

    ``X-Forwarded-For`` is never read here: anyone can send it.
    """
    return request.client.host if request.client is not None else "unknown"


async def _client_address(request: Request) -> str:
    return client_address(request)


ClientAddressDep = Annotated[str, Depends(_client_address)]
