"""Which processor type reads an upload into a source, and setting a source's type.

A source created without a processor type (ChartMogul ``/v1/data_sources``, or one whose type was
cleared) takes any upload that names its type; a source with a type takes uploads of that type only,
named or not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from headwater.domain import ProcessorType
from headwater.errors import FieldProblem, ValidationFailed
from headwater.store.tables import DataSource

TYPES = ", ".join(str(t.value) for t in ProcessorType)


def processor_type(raw: Any, field: str = "type") -> int:
    """``raw`` as a processor type; ``InvalidProcessorType`` when it is not one."""
    try:
        if isinstance(raw, bool):
            raise ValueError
        return ProcessorType(int(raw)).value
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValidationFailed(
            [FieldProblem(field, "InvalidProcessorType", f"{field} must be one of {TYPES}")]
        ) from exc


def chosen_processor_type(source: DataSource, requested: int | None) -> int:
    """The type an upload into ``source`` is read with; ``requested`` is the one the upload names."""
    if requested is None:
        if source.processor_type is None:
            raise ValidationFailed(
                [
                    FieldProblem(
                        "type", "ProcessorTypeRequired", "this data source has no processor type: name one"
                    )
                ]
            )
        return processor_type(source.processor_type)
    chosen = processor_type(requested)
    if source.processor_type is not None and int(source.processor_type) != chosen:
        raise ValidationFailed(
            [
                FieldProblem(
                    "type",
                    "ProcessorTypeMismatch",
                    f"this data source imports processor type {source.processor_type}, not {chosen}",
                )
            ]
        )
    return chosen


async def set_processor_type(session: AsyncSession, source: DataSource, raw: Any) -> DataSource:
    """Set (or, with null, clear) the processor type of an upload-only or ``/v1`` source."""
    source.processor_type = None if raw is None else processor_type(raw, "processorType")
    await session.flush()
    return source
