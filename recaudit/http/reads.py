"""Recording the reads of a call: the access log's entry for each successful read."""

from __future__ import annotations

from fastapi import Request

from domain.lifecycle import ReadKind
from recaudit.core.lifecycle import ComplianceService

LOOPBACK = "loopback"  # who reads, on a server without access control


class ReadLog:
    """Records each successful read of a call in its access log, as the token's holder."""

    def __init__(self, compliance: ComplianceService, *, enabled: bool = True) -> None:
        self.compliance = compliance
        self.enabled = enabled

    def record(self, request: Request, call_id: str, what: ReadKind,
               recording_no: int | None = None) -> None:
        if not self.enabled:
            return
        principal = request.scope.get("state", {}).get("principal")
        by = principal.name if principal is not None else LOOPBACK
        role = principal.role.value if principal is not None else None
        self.compliance.record_access(call_id, what, by=by, role=role,
                                      recording_no=recording_no)
