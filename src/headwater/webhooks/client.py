"""One delivery attempt over HTTP: through the host guard, no redirects, bounded in time and in what
is read of the answer."""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
import httpx

from headwater.errors import HeadwaterError
from headwater.ingest.connectors.hosts import HostGuard, HostPolicy
from headwater.ingest.connectors.outbound import guarded_client
from headwater.settings import Settings

# The delivery log keeps this much of each answer.
RESPONSE_KEPT = 1024
# The guard pins each host's checked addresses; a fresh client now and then sees DNS changes.
CLIENT_LIFETIME = 300.0


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    response: str | None = None
    error: str | None = None
    # success, http_error, timeout, connection_error or refused
    result: str = "success"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookClient:
    """Posts signed bodies; every connection goes to an address the host policy allows."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._timeout = settings.webhook_timeout
        self._client: httpx.AsyncClient | None = None
        # The client before the current one: attempts may still use it; closed at the next change,
        # long after any of them ended.
        self._previous: httpx.AsyncClient | None = None
        self._made_at = 0.0

    async def _current(self) -> httpx.AsyncClient:
        now = time.monotonic()
        if self._client is None or now - self._made_at > CLIENT_LIFETIME:
            if self._previous is not None:
                await self._previous.aclose()
            self._previous = self._client
            guard = HostGuard(HostPolicy.from_settings(self._settings))
            self._client = guarded_client(
                guard, timeout=httpx.Timeout(self._timeout), limits=httpx.Limits(max_keepalive_connections=32)
            )
            self._made_at = now
        return self._client

    async def post(self, url: str, body: str, headers: dict[str, str]) -> AttemptResult:
        """One POST, within the timeout; never raises for what the receiver or the network does."""
        client = await self._current()
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            with anyio.fail_after(self._timeout):
                async with client.stream("POST", url, content=body.encode(), headers=headers) as answer:
                    kept = bytearray()
                    async for chunk in answer.aiter_bytes():
                        kept.extend(chunk[: RESPONSE_KEPT - len(kept)])
                        if len(kept) >= RESPONSE_KEPT:
                            break
                    text = kept.decode("utf-8", errors="replace")
                    ok = 200 <= answer.status_code < 300
                    return AttemptResult(
                        answer.status_code,
                        elapsed(),
                        text,
                        None if ok else f"the endpoint answered {answer.status_code}",
                        "success" if ok else "http_error",
                    )
        except (TimeoutError, httpx.TimeoutException):
            return AttemptResult(
                None, elapsed(), error=f"no answer within {self._timeout:g}s", result="timeout"
            )
        except HeadwaterError as exc:  # the host guard refused the address, or the name did not resolve
            return AttemptResult(None, elapsed(), error=f"{exc.code}: {exc.message}", result="refused")
        except httpx.HTTPError as exc:
            return AttemptResult(
                None, elapsed(), error=f"connection failed: {type(exc).__name__}", result="connection_error"
            )

    async def aclose(self) -> None:
        for client in (self._previous, self._client):
            if client is not None:
                await client.aclose()
        self._previous = self._client = None
