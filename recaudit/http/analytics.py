"""`GET /analytics/{name}`: the documented analyst queries, run by the server.

The embedded ClickHouse engine can be open in one process only, so while `recaudit serve`
holds it analysts go through the server: read-only, one of the queries of
`projections.queries.ANALYST_QUERIES`, every parameter checked before it is bound.
The queries span every organisation, so only `org=*` auditor and admin tokens may run them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, ValidationError, create_model

from domain.clock import iso_millis
from projections.queries import ANALYST_BY_NAME, ANALYST_QUERIES, AnalystQuery
from recaudit.http.api import Id, Timestamp
from recaudit.http.models import AnalyticsResult

QueryName = enum.Enum("QueryName", {q.name: q.name for q in ANALYST_QUERIES}, type=str)  # type: ignore[misc]

KINDS: dict[str, Any] = {
    "date": date,
    "seconds": Annotated[int, Field(ge=0, le=2**32 - 1)],
    "id": Id,
    "time": Timestamp,
}


class Analyst(Protocol):
    def analyst(self, query: AnalystQuery,
                params: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]: ...


def _model(query: AnalystQuery) -> Any:
    fields: dict[str, Any] = {
        p.name: (KINDS[p.kind], Field(description=p.description)) for p in query.parameters
    }
    return create_model(f"{query.name}_parameters", __config__=ConfigDict(extra="forbid"),
                        **fields)


MODELS = {query.name: _model(query) for query in ANALYST_QUERIES}


def parameters(name: str, raw: Mapping[str, str]) -> dict[str, Any]:
    """The parameters of query `name`, checked and typed; ValidationError names each
    parameter at fault (a missing one, an unknown one, a malformed value)."""
    return dict(MODELS[name].model_validate(dict(raw)))


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_millis(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def analytics_router(analyst: Analyst) -> APIRouter:
    router = APIRouter(prefix="/analytics", tags=["analytics"])

    @router.get("/{name}", response_model=AnalyticsResult,
                description="Run one analyst query on the projection (read-only); each query "
                            "takes its parameters in the query string:\n\n"
                            + "\n".join(f"- {q.describe()}" for q in ANALYST_QUERIES))
    def run_query(name: Annotated[QueryName, Path()], request: Request) -> JSONResponse:
        query = ANALYST_BY_NAME[name.value]
        try:
            params = parameters(query.name, request.query_params)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]) from None
        return JSONResponse(result(query, params, analyst))

    return router


def result(query: AnalystQuery, params: dict[str, Any], analyst: Analyst) -> dict[str, Any]:
    """The query's answer as JSON: its name, title, parameters, columns and rows."""
    columns, rows = analyst.analyst(query, params)
    return {
        "query": query.name, "title": query.title,
        "parameters": {k: jsonable(v) for k, v in params.items()},
        "columns": columns,
        "rows": [{k: jsonable(v) for k, v in row.items()} for row in rows],
    }
