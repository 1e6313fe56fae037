"""Local services the tests talk to: Redis reachable or the test skipped (failed under CI), free ports."""

from __future__ import annotations

import socket

import redis

from tests.conftest import service_missing


def require_redis(url: str) -> str:
    """``url`` when its Redis answers; otherwise the test is skipped, or fails under ``CI=true``."""
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        service_missing("Redis")
    return url


def free_port() -> int:
    """A loopback port nothing listens on (the probe that found it is closed again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
