"""Who is asking: bearer tokens, 401 for a missing or unknown one, and the public routes."""

from __future__ import annotations

import pytest

from tests.security.conftest import BackendFactory
from tests.security.helpers import Secured, TestClient, error_of


def refused_401(secured: Secured, headers: dict[str, str]) -> None:
    call_id = secured.new_call("acme", "bob")
    head, held = secured.head(), secured.held_bytes()
    response = secured.http.post(f"/calls/{call_id}/end", json={"by": "sue"}, headers=headers)
    assert error_of(response) == (401, "unauthenticated"), response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert (secured.head(), secured.held_bytes()) == (head, held)
    assert secured.backend.service.call(call_id).status.state.value == "off"


def test_missing_token_is_401(secured: Secured) -> None:
    refused_401(secured, {})


@pytest.mark.parametrize("header", [
    "Bearer not-a-configured-token-at-all",
    "Bearer ",
    "Bearer short",
    "Basic c3VlOnNlY3JldA==",
    "bearer",
    "Bearer " + "x" * 600,
])
def test_unknown_or_malformed_token_is_401(secured: Secured, header: str) -> None:
    refused_401(secured, {"Authorization": header})


def test_a_hash_is_not_a_token(secured: Secured) -> None:
    """The configuration's hash, presented as a token, does not authenticate."""
    from recaudit.access.tokens import digest

    refused_401(secured, {"Authorization": f"Bearer {digest(secured.tokens.raw['admin-all'])}"})


def test_two_authorization_headers_are_401(secured: Secured) -> None:
    call_id = secured.new_call("acme", "bob")
    head = secured.head()
    token = secured.tokens.raw["supervisor-acme"]
    response = secured.http.post(
        f"/calls/{call_id}/end", json={"by": "sue"},
        headers=[("Authorization", f"Bearer {token}"),  # type: ignore[arg-type]
                 ("Authorization", "Bearer other-token-0123456789")])
    assert error_of(response) == (401, "unauthenticated")
    assert secured.head() == head


def test_scheme_is_case_insensitive(secured: Secured) -> None:
    token = secured.tokens.raw["auditor-acme"]
    call_id = secured.new_call("acme", "bob")
    response = secured.http.get(f"/calls/{call_id}", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200, response.text


def test_public_routes_need_no_token(secured: Secured) -> None:
    assert secured.http.get("/health").status_code == 200
    document = secured.http.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/health"]["get"]["security"] == []
    assert document["paths"]["/calls"]["post"]["security"] == [{"bearer": []}]


def test_unknown_route_asks_for_a_token_first(secured: Secured) -> None:
    assert error_of(secured.http.get("/no/such/route")) == (401, "unauthenticated")
    answer = secured.request("admin-all", "GET", "/no/such/route")
    assert error_of(answer) == (404, "not_found")
    answer = secured.request("admin-all", "DELETE", "/policies/acme")
    assert error_of(answer) == (405, "method_not_allowed")


def test_a_route_without_access_rule_is_refused_to_every_token(secured: Secured) -> None:
    secured.backend.app.add_api_route("/extra", lambda: {"ok": True}, methods=["GET"])
    for key in secured.tokens.raw:
        assert error_of(secured.request(key, "GET", "/extra")) == (403, "forbidden")


def test_every_served_route_has_an_access_rule(secured: Secured) -> None:
    from recaudit.http.routes import PUBLIC, ROUTES

    document = secured.http.get("/openapi.json").json()
    # The gate checks a HEAD with the rule of the GET of the same path.
    served = {("GET" if m == "head" else m.upper(), path)
              for path, ops in document["paths"].items() for m in ops}
    assert served - set(ROUTES) - PUBLIC == set()
    assert set(ROUTES) - served == set(), "a rule names a route that is not served"


def test_without_tokens_nothing_is_asked(make_backend: BackendFactory) -> None:
    backend = make_backend()
    http = TestClient(backend.app)
    answer = http.put("/policies/acme", json={"mode": "on_demand", "changed_by": "anyone"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["history"][-1]["changed_by"] == "anyone"
    document = http.get("/openapi.json").json()
    assert "securitySchemes" not in document.get("components", {})
    assert "security" not in document["paths"]["/calls"]["post"]
