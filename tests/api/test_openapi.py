"""The API's own description: a model for every answer, and `/docs` served offline."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from recaudit.bootstrap import Backend
from tests.api.client import Api

JSON = "application/json"
# Downloads answer their file, not JSON.
DOWNLOADS = {"/calls/{call_id}/evidence": "application/zip",
             "/integrity/public-key": "application/x-pem-file"}


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The route's main success (a WAV download also documents 206 for a byte range)."""
    status, answer = min((s, a) for s, a in operation["responses"].items() if s.startswith("2"))
    return status, answer


def test_every_route_documents_its_answer_and_its_refusals(sqlite_backend: Backend) -> None:
    document = Api(sqlite_backend.app).http.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("description") or operation.get("summary"), where
            status, answer = _success(operation)
            content = answer.get("content", {})
            if path.endswith(".wav"):
                assert set(content) == {"audio/wav"}, where
            elif path in DOWNLOADS:
                assert set(content) == {DOWNLOADS[path]}, where
            else:
                schema = content[JSON]["schema"]
                ref = schema.get("items", schema).get("$ref", "")
                assert ref.startswith("#/components/schemas/"), (where, status, content)
                assert schemas[ref.rsplit("/", 1)[1]].get("properties"), where
            for refused in ("4XX", "5XX"):
                error = operation["responses"][refused]["content"][JSON]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, where
            assert "422" not in operation["responses"], where
    assert set(schemas["Error"]["properties"]) == {"error"}
    assert "HTTPValidationError" not in schemas


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_page_loads_only_local_assets(sqlite_backend: Backend) -> None:
    http = Api(sqlite_backend.app).http
    page = http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    links = _Links()
    links.feed(page.text)
    assert links.urls, "the page references its scripts and styles"
    assert not re.search(r"https?://", page.text), "the page must not load anything remote"
    for url in [*links.urls, "/openapi.json"]:
        assert url.startswith("/"), url
        assert http.get(url).status_code == 200, url
    script = http.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"] and len(script.content) > 100_000
    assert http.get("/redoc").status_code == 404  # it would need a CDN
