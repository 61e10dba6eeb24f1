"""The access gate finds the rule of a request as a plain scan of every rule would.

The gate matches a request only against the templates of its method and first path
segment. Here every rule's template, filled in, is sent with every method, and the
rule found must be the one a scan of all templates in the rules' order finds first.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import compile_path

from recaudit.http.gate import OPEN, RULES, AccessGate

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
TEMPLATES = list(dict.fromkeys(template for _method, template in (*RULES, *OPEN)))


def filled(template: str) -> str:
    """The template with each parameter given a value its convertor reads."""
    return re.sub(r"\{(\w+)(?::(\w+))?\}",
                  lambda m: "7" if m.group(2) in ("int", "float") else f"{m.group(1)}-1",
                  template)


def scanned(method: str, path: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
    """The first template, in the rules' order, that matches and has a rule for `method`."""
    method = "GET" if method == "HEAD" else method
    for template in TEMPLATES:
        pattern, _format, convertors = compile_path(template)
        found = pattern.match(path)
        if found and ((method, template) in RULES or (method, template) in OPEN):
            return (method, template), {k: convertors[k].convert(v)
                                        for k, v in found.groupdict().items()}
    return None


def test_the_gate_finds_each_requests_rule_as_a_scan_of_every_rule_does() -> None:
    gate: Any = AccessGate(None, routes=[], tokens=None, owners=None,  # type: ignore[arg-type]
                           max_body=1)
    found_keys = set()
    for template in TEMPLATES:
        path = filled(template)
        for method in METHODS:
            found = gate._route({"type": "http", "method": method, "path": path})
            expected = scanned(method, path)
            assert found == (expected if expected is not None else (None, {})), (method, path)
            found_keys.add(found[0])
    assert found_keys >= {*RULES, *OPEN}  # each rule is found, by its own request at least
