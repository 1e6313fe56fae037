"""The ``sqlite3`` shell's ``.import`` of a CSV file into a fresh database: the SQLite baseline of a load."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

SQLITE3 = "sqlite3"


def sqlite_import(
    database: Path,
    csv: Path,
    schema: Sequence[str],
    table: str,
    fields: Sequence[str] = (),
    filled: Mapping[str, str] | None = None,
) -> float:
    """Seconds the shell takes to ``.import`` the file, its header line skipped, into ``table`` of a new
    database made by the ``schema`` statements. The shell inserts every row in one transaction.

    Without ``fields`` the table's columns are the file's, in order. With them, the file's columns go
    into those columns, and ``filled`` gives other columns an SQL expression each (``new.FIELD`` is the
    row's value of a field): ``.import`` maps a file onto a table by position, so a view of the fields
    takes the rows and its trigger writes them.
    """
    database.unlink(missing_ok=True)
    # headwater's SQLite store runs in WAL with synchronous=NORMAL (``_sqlite_pragmas`` in
    # store/database.py), so the baseline loads with the same settings rather than a fresh shell's
    # rollback journal and synchronous=FULL. WAL is kept in the file; synchronous is set per connection.
    setup = ["PRAGMA journal_mode=WAL;", *(f"{statement};" for statement in schema)]
    target = table
    if fields:
        target = "incoming"
        extra = dict(filled or {})
        columns = ", ".join((*fields, *extra))
        values = ", ".join((*(f"new.{field}" for field in fields), *extra.values()))
        setup += [
            f"CREATE VIEW incoming AS SELECT {', '.join(fields)} FROM {table};",
            f"CREATE TRIGGER load INSTEAD OF INSERT ON incoming BEGIN INSERT INTO {table} ({columns})"
            f" VALUES ({values}); END;",
        ]
    subprocess.run(
        [SQLITE3, str(database)], input="\n".join(setup), text=True, check=True, stdout=subprocess.DEVNULL
    )
    started = time.perf_counter()
    subprocess.run(
        [SQLITE3, str(database)],
        input=f"PRAGMA synchronous=NORMAL;\n.import --csv --skip 1 {csv} {target}\n",
        text=True,
        check=True,
    )
    return time.perf_counter() - started
