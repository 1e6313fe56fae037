"""One typed settings object, built once at start-up and passed in."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from headwater.errors import ConfigurationError
from headwater.hostnames import parse_allowed_hosts

# Every process reads the same file, so that serve, worker and each command see one store and one key.
ENV_FILE_VARIABLE = "HEADWATER_ENV_FILE"
DEFAULT_ENV_FILE = Path("headwater.env")


# The paths the other APIs, the console and the operational endpoints answer under.
_SERVED_ROOTS = (
    "/api/v4",
    "/v1",
    "/oauth2",
    "/console",
    "/docs",
    "/docs-assets",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
)


def path_under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` itself or a path below it (``/v1`` covers ``/v1/x``, not ``/v12``)."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEADWATER_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./headwater.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # Comma-separated Fernet keys, newest first; the first encrypts, all decrypt (rotation).
    secret_key: SecretStr | None = None
    # Where embedded mode keeps the generated key when HEADWATER_SECRET_KEY is not set.
    secret_key_file: Path = Path("./headwater.key")

    allow_private_hosts: bool = False
    # Comma-separated addresses, networks (CIDR) and host names that may be reached although they are
    # not public (an internal S3 store, say); everything else private stays refused.
    allowed_hosts: str = ""
    poll_interval: float = Field(default=15 * 60, gt=0, description="seconds between polls of a source")
    max_concurrent_runs: int = Field(default=4, ge=1)
    run_backoff_max: float = Field(default=6 * 3600, gt=0, description="longest wait after repeated failures")
    max_file_size: int = Field(
        default=10 * 1024**3, gt=0, description="bytes; larger remote files are refused"
    )
    connect_timeout: float = Field(default=30.0, gt=0)
    max_body_size: int = Field(
        default=1024**2, gt=0, description="bytes; larger JSON and form request bodies are refused (413)"
    )
    max_upload_size: int | None = Field(
        default=None, gt=0, description="bytes; larger upload bodies are refused (413); default max_file_size"
    )
    # Where downloads and uploads are copied while they are imported; emptied at start-up.
    temp_directory: Path | None = None

    session_ttl: int = Field(default=8 * 3600, gt=0, description="partner session lifetime in seconds")
    token_ttl: int = Field(default=3600, gt=0, description="OAuth2 access token lifetime in seconds")

    redis_url: str | None = None
    integration_prefix: str = "/prod"
    rate_limit_per_second: int = Field(default=200, ge=1)
    rate_limit_per_day: int = Field(default=100_000, ge=1)
    chartmogul_rate_limit: str = "40/second"
    # Checks of hashed secrets (argon2, 64 MiB each) and failed sign-ins: see guard.py.
    auth_verify_concurrency: int = Field(default=2, ge=1, description="secret checks at once per process")
    auth_verify_wait: float = Field(
        default=2.0, gt=0, description="seconds a secret check may wait for a free slot before a 429"
    )
    auth_verify_per_address: int = Field(
        default=4, ge=1, description="sign-in attempts under way per client address"
    )
    auth_failures_per_address: str = "20/minute"
    auth_failures_per_principal: str = "10/minute"

    run_imports: bool = True
    # auto: in-process on SQLite, procrastinate workers on PostgreSQL.
    runner: Literal["auto", "embedded", "distributed"] = "auto"
    # Distributed mode: runs `headwater serve` itself takes from the queue at once (0: an API-only process).
    worker_concurrency: int = Field(default=2, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    # /metrics on an address of its own (served by `headwater serve` beside the APIs), and/or behind a token.
    metrics_host: str | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_token: SecretStr | None = None

    # Webhooks (``webhooks``): a failed delivery is tried again after about base, 2 x base, 4 x base ...
    # seconds (at most an hour apart) until the retry window is over; an endpoint failing for the whole
    # of disable-after is turned off.
    webhook_retry_base: float = Field(default=5.0, gt=0, description="seconds before the first retry")
    webhook_retry_window: float = Field(default=24 * 3600, gt=0, description="seconds a delivery is retried")
    webhook_disable_after: float = Field(
        default=24 * 3600, gt=0, description="seconds of continuous failure that turn an endpoint off"
    )
    webhook_timeout: float = Field(default=10.0, gt=0, description="seconds one delivery attempt may take")
    webhook_concurrency: int = Field(default=16, ge=1, description="deliveries sent at once per process")
    webhook_log_days: int = Field(
        default=30, ge=1, description="days finished deliveries and their attempts are kept, then forgotten"
    )

    @field_validator("integration_prefix")
    @classmethod
    def _prefix_starts_with_slash(cls, value: str) -> str:
        value = "/" + value.strip("/")
        # The integration API is mounted ahead of the other routes, so it must not cover any of them.
        for taken in _SERVED_ROOTS:
            if value == "/" or path_under(taken, value) or path_under(value, taken):
                raise ValueError(f"{value!r} overlaps {taken!r}, which headwater serves itself")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts_parse(cls, value: str) -> str:
        parse_allowed_hosts(value)  # raises ValueError on an entry that is none of the three, at start-up
        return value

    @field_validator("chartmogul_rate_limit", "auth_failures_per_address", "auth_failures_per_principal")
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        from limits import parse

        parse(value)  # raises ValueError on "40 per sec" and the like, at start-up
        return value

    @property
    def upload_limit(self) -> int:
        return self.max_upload_size if self.max_upload_size is not None else self.max_file_size

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def distributed(self) -> bool:
        """Distributed mode: imports run on procrastinate workers, not in the API process."""
        if self.runner == "auto":
            return self.is_postgres
        return self.runner == "distributed"


def env_file() -> Path | None:
    """``HEADWATER_ENV_FILE`` (which must exist), else ``./headwater.env`` when there is one."""
    named = os.environ.get(ENV_FILE_VARIABLE)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigurationError(f"{ENV_FILE_VARIABLE} names {path}, which is not a readable file")
        return path
    return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None


def load_settings(**values: Any) -> Settings:
    """The settings of this process: ``values``, then the environment, then the env file, then defaults."""
    return Settings(_env_file=env_file(), **values)
