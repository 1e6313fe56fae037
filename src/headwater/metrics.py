"""Prometheus metrics: what an operator watches (runs, files, rows, HTTP, rate limits)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

RUNS = Counter("headwater_runs", "Runs of sources by outcome", ["outcome"], registry=REGISTRY)
RUN_SECONDS = Histogram(
    "headwater_run_duration_seconds",
    "Duration of runs",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
    registry=REGISTRY,
)
FILES = Counter("headwater_files", "Files handled by state", ["state"], registry=REGISTRY)
ROWS = Counter(
    "headwater_rows", "Rows by result (imported, rejected, skipped)", ["result"], registry=REGISTRY
)
HTTP_REQUESTS = Counter(
    "headwater_http_requests", "HTTP requests by dialect and status", ["dialect", "status"], registry=REGISTRY
)
RATE_LIMITED = Counter(
    "headwater_rate_limit_rejections", "Requests refused by a rate limit", ["dialect"], registry=REGISTRY
)
WEBHOOK_DELIVERIES = Counter(
    "headwater_webhook_deliveries",
    "Webhook deliveries by outcome (delivered, failed: given up)",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "headwater_webhook_attempts",
    "Webhook delivery attempts by result (success, http_error, timeout, connection_error, refused)",
    ["result"],
    registry=REGISTRY,
)
WEBHOOK_OLDEST_PENDING = Gauge(
    "headwater_webhook_oldest_pending_seconds",
    "Age of the oldest webhook delivery still waiting to be delivered",
    registry=REGISTRY,
)


def observe_run(outcome: str, seconds: float) -> None:
    RUNS.labels(outcome=outcome).inc()
    RUN_SECONDS.observe(seconds)


def count_file(state: str) -> None:
    FILES.labels(state=state).inc()


def count_rows(*, imported: int, rejected: int, skipped: int) -> None:
    ROWS.labels(result="imported").inc(imported)
    ROWS.labels(result="rejected").inc(rejected)
    ROWS.labels(result="skipped").inc(skipped)


def count_webhook_attempt(result: str) -> None:
    WEBHOOK_ATTEMPTS.labels(result=result).inc()


def count_webhook_delivery(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


def set_webhook_oldest_pending(seconds: float) -> None:
    WEBHOOK_OLDEST_PENDING.set(seconds)
