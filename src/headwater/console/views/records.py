"""Browse a source's imported records with the integration API's filters and paging."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from headwater import resources
from headwater.console.views.common import ViewerDep, page, runtime_of, visible_source
from headwater.resources import InvalidFilter, InvalidPagination, MaxNumRowsTooLarge

router = APIRouter()

KINDS = {
    "partnerSales": "Sales",
    "partnerStock": "Stock",
    "persons": "Persons",
    "companies": "Companies",
    "physicalLocations": "Locations",
}
PAGE_ROWS = 50
_PROCESSOR_KIND = {
    25011: "partnerSales",
    25012: "partnerStock",
    25000: "persons",
    25004: "companies",
    25006: "physicalLocations",
}


@router.get("/sources/{source_id}/records")
async def records_page(request: Request, viewer: ViewerDep, source_id: int, kind: str = "") -> HTMLResponse:
    runtime = runtime_of(request)
    filters = [
        (name, value)
        for name, value in request.query_params.multi_items()
        if name not in ("kind", "firstRow") and value != ""
    ]
    first_row_text = request.query_params.get("firstRow", "0")
    first_row = int(first_row_text) if first_row_text.isdigit() and len(first_row_text) < 19 else 0
    error = None
    rows: list[dict[str, object]] = []
    async with runtime.db.session() as session:
        source = await visible_source(session, viewer, source_id)
        kind = kind if kind in KINDS else _PROCESSOR_KIND.get(source.processor_type or 0, "partnerSales")
        resource = resources.RESOURCES[kind]
        try:
            # The integration API's own answer (the same filters, paging and shown values), read back.
            answer = await resources.list_subordinates_json(
                session,
                source.tenant_id,
                resources.RESOURCES["dataSources"],
                source.id,
                kind,
                [*filters, ("firstRow", str(first_row)), ("maxNumRows", str(PAGE_ROWS + 1))],
            )
            rows = orjson.loads(answer)
        except (InvalidFilter, InvalidPagination, MaxNumRowsTooLarge) as exc:
            error = exc.message
    columns = [f.name for f in resource.fields if f.name not in ("dataSourceId",)]
    return page(
        request,
        viewer,
        "records.html",
        title=f"{KINDS[kind]} of {source.name}",
        nav="sources",
        source=source,
        kind=kind,
        kinds=KINDS,
        columns=columns,
        rows=rows[:PAGE_ROWS],
        has_next=len(rows) > PAGE_ROWS,
        first_row=first_row,
        page_rows=PAGE_ROWS,
        filters=filters,
        filter_names=sorted(resource.filters),
        error=error,
    )
