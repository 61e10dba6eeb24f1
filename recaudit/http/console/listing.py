"""The calls list: the contract's filters read from the URL, one keyset page of summaries.

The form's state lives in the query string, so a link reproduces the view. Its filters are
those of `GET /calls` (validated by the same model); `after` is the page's cursor, and
`trail` the cursors of the pages before it, so "Previous" is a link too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError

from domain.rules import CallState, Mode
from recaudit.access.rules import Action
from recaudit.access.scopes import reachable
from recaudit.access.tokens import Principal
from recaudit.core.readmodel import CallKey, CallQuery, Listings
from recaudit.core.views import CallSummary
from recaudit.http.errors import validation_problem
from recaudit.http.listings import CallFilters

PAGE = 50
# The filters as the form names them, in the order it shows them.
FILTERS = ("org_id", "agent_id", "mode", "state", "from", "to", "q", "refused",
           "min_pause_ms", "legal_hold")
# Cursors are URL-safe base64, so a dot can join them.
TRAIL_SEPARATOR = "."
MAX_TRAIL = 40


class BadFilters(ValueError):
    """The query string holds a filter the list cannot apply (the message says which)."""


@dataclass(frozen=True)
class Row:
    summary: CallSummary

    def shares(self) -> list[tuple[str, float]]:
        """(state, share of the call's time) for the little bar; empty without time."""
        s = self.summary
        parts = [("recording", s.recording_ms), ("paused", s.paused_ms), ("off", s.off_ms)]
        total = sum(ms for _state, ms in parts)
        return [(state, ms / total) for state, ms in parts] if total else []


def given(query: Mapping[str, str]) -> dict[str, str]:
    """The filters the form was sent with; blank fields mean "any"."""
    return {name: query[name].strip() for name in FILTERS if query.get(name, "").strip()}


def read_filters(values: dict[str, str], after: str | None) -> CallFilters:
    try:
        return CallFilters.model_validate({**values, "after": after, "limit": PAGE})
    except ValidationError as exc:
        field, message = validation_problem(exc.errors()[0])
        raise BadFilters(f"{field} {message}") from None


def call_page(listings: Listings, who: Principal | None,
              query: Mapping[str, str]) -> dict[str, Any]:
    """What the calls list shows for the query string `query`."""
    values = given(query)
    after = query.get("after") or None
    trail = [c for c in query.get("trail", "").split(TRAIL_SEPARATOR) if c][-MAX_TRAIL:]
    filters = read_filters(values, after)
    reach = reachable(who, Action.READ_CALL, filters.org_id, filters.agent_id)
    page = listings.calls(CallQuery(
        org_ids=reach.org_ids, agent_id=reach.agent_id, mode=filters.mode,
        state=filters.state, started_from=filters.started_from,
        started_to=filters.started_to, call_id_prefix=filters.q, refused=filters.refused,
        min_pause_ms=filters.min_pause_ms, legal_hold=filters.legal_hold,
        after=CallKey.decode(after) if after else None, limit=PAGE))
    return {
        "rows": [Row(s) for s in page.calls],
        "filters": values,
        **choices(),
        "next_url": _link(values, page.next.encode(), [*trail, after] if after else [])
        if page.next else None,
        "previous_url": _link(values, trail[-1] if trail else None, trail[:-1])
        if after else None,
        "page_no": len(trail) + 2 if after else 1,
    }


def choices() -> dict[str, list[tuple[str, str]]]:
    return {"modes": [(m.value, m.value) for m in Mode],
            "states": [(s.value, s.value) for s in CallState]}


def refused_page(values: dict[str, str], problem: str) -> dict[str, Any]:
    """The list's form with why its filters were refused, and no rows."""
    return {"rows": [], "filters": values, **choices(), "next_url": None,
            "previous_url": None, "page_no": 1, "problem": problem}


def list_url(values: dict[str, str]) -> str:
    """The calls list with these filters."""
    return _link(values, None, [])


def _link(values: dict[str, str], after: str | None, trail: list[str]) -> str:
    params = dict(values)
    if after:
        params["after"] = after
    if trail:
        params["trail"] = TRAIL_SEPARATOR.join(trail)
    return "/console/" + (f"?{urlencode(params)}" if params else "")
