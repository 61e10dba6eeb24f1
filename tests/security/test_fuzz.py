"""Schemathesis against the served OpenAPI document, with access control off and on.

Every operation gets a bounded number of generated requests (valid ones and ones that break
the schema). Checks on every answer: no server error (a 503 `projection_behind` is the
contract's answer to a `min_position` the projection has not reached), every 4xx in the
contract's error shape, and the answer's schema where the document declares one. Half of
the generated requests are steered onto a call, an organisation and an actor that exist,
so they reach the service instead of stopping at 404 or at the token's scope; some of those
go to a call bob had and that was transferred to amy (an agent's token may read it, and
its commands are 403).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import response_schema_conformance

from domain.rules import Mode
from recaudit.bootstrap import Backend
from tests.security.conftest import BackendFactory
from tests.security.helpers import PRINCIPALS, Tokens

EXAMPLES = 30  # per operation and generation mode: this is what bounds a run
SEED_ORG = "acme"
SEED_CALL, AUDIO_CALL = "fuzz-call", "fuzz-audio"  # the commands may end the first one
FORMER_CALL = "fuzz-former"  # bob's call, transferred to amy
ACTOR_FIELDS = ("by", "changed_by")
RUNS: list[str] = []


schemathesis.serializer.alias("audio/L16", "application/octet-stream")  # raw bytes


def no_server_error(_ctx: Any, response: Any, case: Case) -> None:
    if response.status_code < 500:
        return
    code = _error_code(response)
    if response.status_code == 503 and code == "projection_behind":
        return
    raise AssertionError(f"{case.method} {case.formatted_path} answered "
                         f"{response.status_code}: {response.text[:300]}")


def error_shape(_ctx: Any, response: Any, case: Case) -> None:
    if not 400 <= response.status_code < 600 or case.method.upper() == "HEAD":
        return  # a HEAD answer never has a body, errors included
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, (
        f"{case.method} {case.formatted_path} answered {response.status_code} "
        f"outside the error shape: {response.text[:300]}")
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"].strip(), body


def _error_code(response: Any) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


CHECKS = [no_server_error, error_shape, response_schema_conformance]


def steer(case: Case, actor: str | None, former: bool = False) -> None:
    """Point the case at a seeded call (`former`: the transferred one) and organisation,
    and name the token's actor."""
    params = case.path_parameters or {}
    if "call_id" in params:
        params["call_id"] = (AUDIO_CALL if case.path.endswith("/audio")
                             else FORMER_CALL if former else SEED_CALL)
    if case.path.endswith("/audio") and isinstance(case.query, dict):
        case.query["at"] = datetime.now(UTC).isoformat()  # media time the call can take
    if "org_id" in params:
        params["org_id"] = SEED_ORG
    if isinstance(case.body, dict):
        if "org_id" in case.body:
            case.body["org_id"] = SEED_ORG
        for name in ACTOR_FIELDS:
            if name in case.body and actor is not None:
                case.body[name] = actor


def seed(backend: Backend) -> None:
    backend.service.set_policy(SEED_ORG, mode=Mode.ON_DEMAND, changed_by="setup")
    for call_id in (SEED_CALL, AUDIO_CALL, FORMER_CALL):
        backend.service.start_call(call_id=call_id, org_id=SEED_ORG, agent_id="bob",
                                   direction="inbound")
    backend.service.transfer(FORMER_CALL, to_agent_id="amy", by="setup")
    assert backend.projections is not None
    backend.projections.reader.wait = 0.2  # a min_position not applied yet answers quickly
    backend.pipeline.start()


def fuzz(backend: Backend, headers: dict[str, str], actor: str | None, label: str) -> None:
    seed(backend)
    schema = schemathesis.openapi.from_asgi("/openapi.json", backend.app)
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                                 derandomize=True, phases=[Phase.explicit, Phase.generate],
                                 suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode), steered=st.booleans(),
                   former=st.booleans())
            def run(case: Case, steered: bool, former: bool) -> None:
                if steered:
                    steer(case, actor, former)
                cases[case.operation.label] += 1
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                statuses[response.status_code] += 1

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to break: no parameters
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    elapsed = time.monotonic() - started
    RUNS.append(f"fuzz {label}: {sum(cases.values())} cases over {len(cases)} operations "
                f"in {elapsed:.1f} s, {len(failures)} failing operations; answers: "
                + ", ".join(f"{n}x{status}" for status, n in sorted(statuses.items())))
    print(RUNS[-1])
    assert not failures, "\n\n".join(failures)


def test_fuzz_without_tokens(make_backend: BackendFactory) -> None:
    fuzz(make_backend(), {}, None, "without tokens")


@pytest.mark.parametrize("who", ["supervisor-acme", "admin-all", "agent-bob"])
def test_fuzz_with_tokens(make_backend: BackendFactory, who: str) -> None:
    tokens = Tokens.issue()
    backend = make_backend({"RECAUDIT_TOKENS": tokens.config()})
    fuzz(backend, tokens.header(who), PRINCIPALS[who].name, f"as {who}")
