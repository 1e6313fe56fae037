"""A file's rejected rows as a CSV to fix and upload again.

The CSV is in the file's own layout: its header as the file wrote it, in its delimiter, then every
rejected row as the file held it (``processors.rejected`` says how exact that text is), each followed
by three columns, ``line``, ``code`` and ``message``. A row with several errors is written once, its
codes and messages joined with ``; ``. A row whose text was cut at 4 KB says so in its message, and
when the cut (or an unterminated quote) leaves a quote open, one is added to close it, so that the
rows after it stay rows. Processors ignore columns they do not know, so the fixed file imports as is.

The errors are read from the store a page at a time: a file with a million rejected rows is streamed,
never held in memory. A file imported before rows kept their text (no header known) is given as one
``rawLine`` column.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import Row, select

from headwater.domain import MAX_RAW_BYTES
from headwater.ingest.processors.rejected import csv_row
from headwater.runtime import Runtime
from headwater.store import imports as ledger_store
from headwater.store import sources as source_store
from headwater.store.tables import ImportErrorRow

PAGE = 2_000
TRAILING_COLUMNS = ("line", "code", "message")
CUT_NOTE = f" (the row is longer than {MAX_RAW_BYTES} bytes: only its start is given)"


@dataclass(frozen=True)
class RejectedRowsCsv:
    tenant_id: int
    file_id: int
    header_line: str | None
    delimiter: str
    filename: str

    async def chunks(self, runtime: Runtime) -> AsyncIterator[str]:
        """The CSV, a page of rows at a time."""
        header = self.header_line if self.header_line is not None else "rawLine"
        yield header + self.delimiter + csv_row(TRAILING_COLUMNS, self.delimiter) + "\n"
        after = 0
        while True:
            async with runtime.db.session() as session:
                page = (
                    await session.execute(
                        select(
                            ImportErrorRow.id,
                            ImportErrorRow.line,
                            ImportErrorRow.code,
                            ImportErrorRow.message,
                            ImportErrorRow.raw_line,
                            ImportErrorRow.raw_truncated,
                        )
                        .where(
                            ImportErrorRow.tenant_id == self.tenant_id,
                            ImportErrorRow.import_file_id == self.file_id,
                            ImportErrorRow.id > after,
                        )
                        .order_by(ImportErrorRow.id)
                        .limit(PAGE)
                    )
                ).all()
            if not page:
                return
            after = page[-1].id
            # A row's errors are stored one after the other; one split across two pages is written twice.
            yield "".join(self._row(list(errors)) for _, errors in groupby(page, key=lambda e: e.line))
            if len(page) < PAGE:
                return

    def _row(self, errors: Sequence[Row[int, int | None, str, str, str | None, bool]]) -> str:
        first = errors[0]
        raw = first.raw_line or ""
        if self.header_line is None:
            raw = csv_row([raw], self.delimiter)
        elif raw.count('"') % 2:
            raw += '"'
        code = "; ".join(error.code for error in errors)
        message = "; ".join(error.message for error in errors) + (CUT_NOTE if first.raw_truncated else "")
        line = "" if first.line is None else str(first.line)
        return raw + self.delimiter + csv_row([line, code, message], self.delimiter) + "\n"


async def rejected_rows_csv(
    runtime: Runtime,
    tenant_id: int,
    file_id: int,
    *,
    source_id: int | None = None,
    owner_partner_id: int | None = None,
) -> RejectedRowsCsv:
    """The CSV of a file of the tenant (of ``source_id``, owned by ``owner_partner_id``, when given).

    Raises ``NotFound`` for a file (or source) the caller cannot see, before anything is streamed."""
    async with runtime.db.session() as session:
        if source_id is not None:
            await source_store.get(session, tenant_id, source_id, owner_partner_id=owner_partner_id)
        row = await ledger_store.get_file(session, tenant_id, file_id, source_id=source_id)
        return RejectedRowsCsv(
            tenant_id=tenant_id,
            file_id=row.id,
            header_line=row.header_line,
            delimiter=row.delimiter or ",",
            filename=f"import-{row.id}-errors.csv",
        )
