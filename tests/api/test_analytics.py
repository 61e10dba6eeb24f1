"""`GET /analytics/{name}`: every parameter checked before it is bound; nothing changes."""

from __future__ import annotations

import pytest

from recaudit.bootstrap import Backend
from tests.api.client import Api, error_of


@pytest.mark.parametrize(("path", "params", "fields"), [
    ("/analytics/drop_tables", {}, ["name"]),
    ("/analytics/long_pauses", {"seconds": "1; DROP TABLE calls"}, ["seconds"]),
    ("/analytics/long_pauses", {"seconds": str(2**32)}, ["seconds"]),
    ("/analytics/state_at", {"call_id": "c 1", "at": "2026-03-01T09:00:00"},
     ["call_id", "at"]),
    ("/analytics/seconds_per_agent_per_day", {"from_day": "March", "to_day": "2026-03-02"},
     ["from_day"]),
    ("/analytics/always_on_gaps", {"db": "system"}, ["db"]),
])
def test_bad_parameters_are_refused_naming_them(sqlite_backend: Backend, path: str,
                                                params: dict[str, str],
                                                fields: list[str]) -> None:
    api = Api(sqlite_backend.app)
    head = sqlite_backend.store.head()
    response = api.http.get(path, params=params)
    assert error_of(response) == (422, "invalid_request")
    assert response.json()["error"]["fields"] == fields
    assert sqlite_backend.store.head() == head


def test_a_query_answers_its_parameters_and_rows(sqlite_backend: Backend) -> None:
    api = Api(sqlite_backend.app)
    response = api.http.get("/analytics/long_pauses", params={"seconds": "0"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"query", "title", "parameters", "columns", "rows"}
    assert (body["query"], body["parameters"], body["rows"]) == (
        "long_pauses", {"seconds": 0}, [])
