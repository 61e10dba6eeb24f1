"""The evidence bundle of a call, and the public key that checks its signature.

Who may download a bundle is in `routes.py` (auditors and admins, like the access log);
the public key is answered to anyone. A download is recorded in the call's access log
(`evidence`) once the bundle is built, so a refused or failed one leaves no entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from domain.ids import ID_PATTERN
from domain.lifecycle import ReadKind
from recaudit.http.reads import ReadLog

CallIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
ZIP = "application/zip"
PEM = "application/x-pem-file"


def evidence_router(bundle: Callable[[str], bytes], public_pem: bytes,
                    reads: ReadLog | None = None) -> APIRouter:
    """`bundle(call_id)`: the call's evidence bundle (a zip archive)."""
    router = APIRouter(tags=["compliance"])

    @router.get("/calls/{call_id}/evidence", response_class=Response,
                responses={200: {"content": {ZIP: {}}, "description": "the evidence bundle"}})
    def get_evidence(call_id: CallIdPath, request: Request) -> Response:
        """The call's evidence bundle: its events with their chain, timeline, recordings,
        access log, a manifest of every file and the signed chain heads."""
        data = bundle(call_id)
        if reads is not None:
            reads.record(request, call_id, ReadKind.EVIDENCE)
        name = f"evidence-{call_id}.zip"
        return Response(data, media_type=ZIP,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @router.get("/integrity/public-key", response_class=Response,
                responses={200: {"content": {PEM: {}}, "description": "the public key"}})
    def get_public_key() -> Response:
        """The server's Ed25519 public key (PEM), which checks evidence bundles."""
        return Response(public_pem, media_type=PEM)

    return router
