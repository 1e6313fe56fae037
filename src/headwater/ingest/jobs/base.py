"""The runner port. ``serve`` asks a runner to run sources; the runner decides where that happens."""

from __future__ import annotations

from typing import Protocol


class JobRunner(Protocol):
    async def start(self) -> None:
        """Begin polling due sources (embedded) or connect to the queue (distributed)."""

    async def stop(self) -> None:
        """Stop taking work; let runs under way finish their current file or roll it back."""

    async def request_run(
        self, tenant_id: int, source_id: int, *, trigger: str = "manual", run_id: int | None = None
    ) -> bool:
        """Ask for a run of one source now (carrying out the queued run ``run_id``, if given).
        False when one is already queued or running."""
        ...
