"""What ``headwater run`` shows while it works: bytes as files download, rows as they import.

Two bars over the whole run, fed by the import engine's progress events (``headwater.ingest.progress``): the
bytes of the files to import (size, speed and time left), and the rows read so far with their rate.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from headwater.cli.common import console

_ROWS = "rows"


def _counts_rows(task: Task) -> bool:
    return bool(task.fields.get(_ROWS))


class AmountColumn(ProgressColumn):
    """Bytes done of the total for the download bar; the rows read for the rows bar."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()

    def render(self, task: Task) -> Text:
        if _counts_rows(task):
            return Text(f"{int(task.completed):,} rows", style="progress.download")
        return self._bytes.render(task)


class RateColumn(ProgressColumn):
    """Bytes per second, or rows per second."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = TransferSpeedColumn()

    def render(self, task: Task) -> Text:
        if not _counts_rows(task):
            return self._bytes.render(task)
        speed = task.finished_speed or task.speed
        return Text("?" if speed is None else f"{speed:,.0f} rows/s", style="progress.data.speed")


class RunProgress:
    """A context manager whose ``on_event`` is the engine's progress callback."""

    def __init__(self, description: str) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            AmountColumn(),
            RateColumn(),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console(),
            transient=True,
        )
        self.description = description
        self._bytes: TaskID | None = None
        self._rows: TaskID | None = None
        self._bytes_before = 0  # of the files already finished
        self._rows_before = 0

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        self._bytes = self.progress.add_task(self.description, total=None)
        self._rows = self.progress.add_task("rows", total=None, **{_ROWS: True})
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.progress.__exit__(kind, value, traceback)

    def on_event(self, event: str, data: dict[str, Any]) -> None:
        assert self._bytes is not None and self._rows is not None
        if event == "planned":
            self.progress.update(self._bytes, total=data["bytes"] or None)
        elif event == "file_started":
            self.progress.update(self._bytes, description=str(data["path"]))
        elif event == "download_progress":
            self.progress.update(self._bytes, completed=self._bytes_before + data["bytes"])
        elif event == "rows_progress":
            self.progress.update(self._rows, completed=self._rows_before + data["rows"])
        elif event == "file_finished":
            self._bytes_before += data["size"]
            self._rows_before += data["outcome"].rows
            self.progress.update(self._bytes, completed=self._bytes_before)
            self.progress.update(self._rows, completed=self._rows_before)
