"""Evidence bundles under access control: auditors and admins of the call's organisation
download them, recorded with their token's name and role; every other holder, and no token
at all, is refused and leaves no entry. The public key is answered to anyone."""

from __future__ import annotations

import io
import json
import zipfile

from domain.ids import access_stream_id
from tests.security.helpers import PRINCIPALS, Secured, error_of

ALLOWED = {"auditor-acme", "auditor-all", "admin-acme", "admin-all"}


def access_events(secured: Secured, call_id: str) -> int:
    return len(list(secured.backend.store.events.get(access_stream_id(call_id))))


def test_who_may_download_a_bundle(secured: Secured) -> None:
    call_id = secured.new_call("acme", "bob")
    for key in [None, *PRINCIPALS]:
        before_head, before = secured.head(), access_events(secured, call_id)
        answer = secured.request(key, "GET", f"/calls/{call_id}/evidence")
        if key in ALLOWED:
            assert answer.status_code == 200, (key, answer.text)
            log = json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read(
                "access-log.json"))
            assert all(entry["what"] == "evidence" for entry in log)
            assert secured.backend.compliance is not None
            after = secured.backend.compliance.access_log(call_id)
            principal = PRINCIPALS[key]
            assert (after[-1].what, after[-1].by, after[-1].role) == (
                "evidence", principal.name, principal.role.value)
        else:
            assert error_of(answer)[0] in (401, 403, 404), (key, answer.text)
            assert (secured.head(), access_events(secured, call_id)) == (before_head, before)


def test_the_public_key_needs_no_token(secured: Secured) -> None:
    answer = secured.request(None, "GET", "/integrity/public-key")
    assert answer.status_code == 200 and answer.text.startswith("-----BEGIN PUBLIC KEY-----")
