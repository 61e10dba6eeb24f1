"""The dashboard: an organisation's figures over a period, each a link to the calls list.

It reads the filters `org_id`, `from` and `to` as the list does, within the same reach
(an agent's dashboard covers its own calls), and links every figure to the list of the
calls it counts, or, where the list has no filter that exact, the nearest list (which
the page says).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recaudit.access.rules import Action
from recaudit.access.scopes import reachable
from recaudit.access.tokens import Principal
from recaudit.core.readmodel import DashboardQuery, Dashboards
from recaudit.http.console.listing import list_url, read_filters

FIELDS = ("org_id", "from", "to")


def dashboard_page(dashboards: Dashboards, who: Principal | None,
                   query: Mapping[str, str]) -> dict[str, Any]:
    values = {k: query[k].strip() for k in FIELDS if query.get(k, "").strip()}
    filters = read_filters(values, None)
    reach = reachable(who, Action.READ_CALL, filters.org_id)
    figures = dashboards.dashboard(DashboardQuery(
        org_ids=reach.org_ids, agent_id=reach.agent_id, started_from=filters.started_from,
        started_to=filters.started_to))

    def link(**more: str) -> str:
        return list_url({**values, **more})

    return {
        "filters": values, "figures": figures,
        "links": {
            "calls": link(),
            "pauses": link(min_pause_ms="1"),
            "longest": link(min_pause_ms=str(max(figures.longest_pause_ms, 1))),
            "refusals": link(refused="true"),
            "always_on": link(mode="always_on"),
            "auto": link(min_pause_ms="1"),
        },
        "code_links": [(code, n, link(refused="true")) for code, n in figures.refusals_by_code],
        "agent_links": [(agent, n, link(agent_id=agent, refused="true"))
                        for agent, n in figures.agents_by_refusals],
    }
