"""Rows written straight into the tables, for tests and benchmarks that need records to exist already:
tenants, Custom sources, import files and partner sales. Each helper works inside the caller's session."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from headwater.access.crypto import new_token
from headwater.clock import utcnow
from headwater.domain import CUSTOM_SYSTEM
from headwater.store.tables import DataSource, ImportFile, PartnerSale, Tenant, Touchpoint


async def add_tenant(session: AsyncSession, name: str, *, touchpoint: str | None = None) -> int:
    """A tenant, with one touchpoint code when ``touchpoint`` is given (its token is never used)."""
    tenant = Tenant(name=name, created_at=utcnow())
    session.add(tenant)
    await session.flush()
    if touchpoint is not None:
        session.add(
            Touchpoint(
                tenant_id=tenant.id,
                code=touchpoint,
                token_digest=new_token(16),
                token_hash="unused",
                created_at=utcnow(),
            )
        )
    return tenant.id


async def add_custom_source(session: AsyncSession, tenant_id: int, name: str, **columns: Any) -> int:
    now = utcnow()
    source = DataSource(
        uuid=f"ds_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        name=name,
        system=CUSTOM_SYSTEM,
        created_at=now,
        updated_at=now,
        **columns,
    )
    session.add(source)
    await session.flush()
    return source.id


async def add_import_file(
    session: AsyncSession, tenant_id: int, source_id: int, path: str, *, state: str, **columns: Any
) -> int:
    imported = ImportFile(
        tenant_id=tenant_id,
        data_source_id=source_id,
        path=path,
        name=PurePosixPath(path).name,
        state=state,
        created_at=utcnow(),
        **columns,
    )
    session.add(imported)
    await session.flush()
    return imported.id


@dataclass
class Owner:
    """Who records belong to: a tenant, its Custom source and the source's files being imported."""

    tenant_id: int
    source_id: int
    file_ids: list[int]


async def add_owner(session: AsyncSession, paths: Sequence[str], *, source: str = "uploads") -> Owner:
    """A fresh tenant with one Custom source and a file ``importing`` at each of ``paths``."""
    tenant_id = await add_tenant(session, f"tenant-{uuid.uuid4().hex[:8]}")
    source_id = await add_custom_source(session, tenant_id, source)
    file_ids = [
        await add_import_file(session, tenant_id, source_id, path, state="importing") for path in paths
    ]
    return Owner(tenant_id, source_id, file_ids)


def sale_values(n: int, first_day: date = date(2024, 1, 1)) -> dict[str, Any]:
    """The columns of the ``n``-th seeded sale: one day apart, a few quantities, SKUs and currencies."""
    return {
        "line": n + 2,
        "sale_date": first_day + timedelta(days=n % 365),
        "transaction_id": f"T{n:05d}",
        "quantity": Decimal(n % 7 + 1),
        "amount": Decimal("9.5"),
        "total": Decimal("9.5") * (n % 7 + 1),
        "sku": f"SKU-{n % 10}",
        "partner_sku_code": f"SKU-{n % 10}",
        "currency": "EUR" if n % 2 else None,
    }


@dataclass
class Seeded:
    """What ``seed_sales`` put in the store: one Custom source, one file, its sales."""

    source_id: int
    file_id: int
    sale_ids: list[int] = field(default_factory=list)


async def seed_sales(
    session: AsyncSession,
    tenant_id: int,
    count: int,
    *,
    name: str = "uploads",
    first_day: date = date(2024, 1, 1),
) -> Seeded:
    """``count`` partner sales (``sale_values``) of one imported file of a new Custom source."""
    source_id = await add_custom_source(session, tenant_id, name, processor_type=25011, status="idle")
    file_id = await add_import_file(
        session,
        tenant_id,
        source_id,
        f"uploads/{name}.csv",
        state="imported",
        size=100,
        processor_type=25011,
        rows=count,
        rows_ok=count,
    )
    sales = [
        PartnerSale(
            tenant_id=tenant_id,
            data_source_id=source_id,
            import_file_id=file_id,
            **sale_values(n, first_day),
        )
        for n in range(count)
    ]
    session.add_all(sales)
    await session.flush()
    return Seeded(source_id, file_id, [sale.id for sale in sales])


_RECOUNTED = """
SELECT tenant_id, '{table}', data_source_id, (id >> 14) << 14, count(*) FROM {table}
GROUP BY 1, 2, 3, 4
"""


async def block_counts(
    session: AsyncSession, table: str = "partner_sales", *, nonzero: bool = False
) -> set[tuple[object, ...]]:
    """``record_blocks`` of ``table`` as (tenant, table, source, first id, rows); with ``nonzero``,
    the blocks that hold rows only (SQLite leaves emptied blocks listed)."""
    found = await session.execute(
        text(
            "SELECT tenant_id, record_table, data_source_id, first_id, rows FROM record_blocks"
            f" WHERE record_table = :table{' AND rows != 0' if nonzero else ''}"
        ),
        {"table": table},
    )
    return {tuple(row) for row in found}


async def recounted_blocks(session: AsyncSession, table: str = "partner_sales") -> set[tuple[object, ...]]:
    """What ``block_counts`` should hold, counted from the rows themselves."""
    return {tuple(row) for row in await session.execute(text(_RECOUNTED.format(table=table)))}
