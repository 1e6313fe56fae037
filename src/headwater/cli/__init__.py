"""The ``headwater`` command line. Every command takes ``--json`` and then prints one JSON object."""

from __future__ import annotations

from headwater.cli import (
    apikeys,
    clients,
    operators,
    runs,
    serve,
    source_controls,
    sources,
    tenants,
    webhooks,
    worker,
)
from headwater.cli.common import app
from headwater.ingest.memory import cap_malloc_arenas, fix_mmap_threshold

for module in (serve, tenants, apikeys, clients, operators, runs, sources, source_controls, webhooks, worker):
    module.register(app)


def main() -> None:
    cap_malloc_arenas()
    fix_mmap_threshold()
    app()


__all__ = ["app", "main"]
