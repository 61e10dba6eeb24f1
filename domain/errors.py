"""Domain errors, one root, classified by what the caller should do about them."""

from __future__ import annotations


class DomainError(Exception):
    """Root of every error the domain raises on purpose."""

    code = "domain_error"


class CommandRefused(DomainError):
    """The command cannot be accepted as sent; nothing was recorded."""

    code = "command_refused"


class IdempotencyConflict(CommandRefused):
    code = "idempotency_conflict"

    def __init__(self, command_id: str, first: str, now: str) -> None:
        super().__init__(
            f"command_id {command_id!r} was already used on this call for a different "
            f"command ({first}); this request ({now}) was not applied"
        )


class UnknownCall(CommandRefused):
    code = "unknown_call"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"no call with id {call_id!r} has been started")


class CallIdTaken(CommandRefused):
    """A new call's id is already used by another organisation's call.

    Says nothing of that call, and nothing is recorded on it.
    """

    code = "call_id_taken"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"call_id {call_id!r} is already used by another call; "
                         "choose another id")


class NoPolicy(CommandRefused):
    code = "no_policy"

    def __init__(self, org_id: str, agent_id: str | None = None) -> None:
        who = f" or for agent {agent_id!r}" if agent_id else ""
        super().__init__(f"no recording policy is set for organisation {org_id!r}{who}")


class UnknownPolicy(CommandRefused):
    code = "no_policy"

    def __init__(self, org_id: str) -> None:
        super().__init__(f"no recording policy is set for organisation {org_id!r}")


class UnknownOverride(CommandRefused):
    """There is no override of this agent to remove; nothing was recorded."""

    code = "unknown_override"

    def __init__(self, org_id: str, agent_id: str) -> None:
        super().__init__(f"organisation {org_id!r} has no override for agent {agent_id!r}")


class FutureTimestamp(CommandRefused):
    """A new call cannot start in the future (there is no call yet to record it on)."""

    code = "future_timestamp"

    def __init__(self, at: str, latest: str) -> None:
        super().__init__(f"timestamp {at} is later than the server clock allows ({latest})")


class PastTimestamp(CommandRefused):
    """A new call cannot start further back than the allowed backdating (no call to record
    it on)."""

    code = "past_timestamp"

    def __init__(self, at: str, earliest: str) -> None:
        super().__init__(f"timestamp {at} is earlier than the server clock allows ({earliest})")


class RecordingNotFound(CommandRefused):
    code = "unknown_recording"

    def __init__(self, call_id: str, recording_no: int) -> None:
        super().__init__(f"call {call_id!r} has no recording {recording_no}")


class RecordingStillOpen(CommandRefused):
    """An open recording cannot be deleted; nothing was recorded."""

    code = "recording_open"

    def __init__(self, call_id: str, recording_no: int, detail: str = "it is still open") -> None:
        super().__init__(f"recording {recording_no} of call {call_id!r} cannot be deleted: "
                         f"{detail}")


class RecordingHeld(CommandRefused):
    """A recording under legal hold cannot be deleted; the attempt is recorded."""

    code = "legal_hold"

    def __init__(self, call_id: str, recording_no: int, holds: list[str]) -> None:
        super().__init__(f"recording {recording_no} of call {call_id!r} is under legal hold "
                         f"({', '.join(holds)}); it cannot be deleted until released")
        self.holds = holds


class AudioDeleted(CommandRefused):
    """The recording's audio was deleted; only its manifest remains."""

    code = "recording_deleted"

    def __init__(self, call_id: str, recording_no: int, detail: str) -> None:
        super().__init__(f"recording {recording_no} of call {call_id!r} was deleted ({detail})")


class UnknownHold(CommandRefused):
    code = "unknown_hold"

    def __init__(self, hold_id: str) -> None:
        super().__init__(f"no legal hold with id {hold_id!r}")


class HoldReleased(CommandRefused):
    """A released hold cannot be released again; nothing was recorded."""

    code = "hold_released"

    def __init__(self, hold_id: str) -> None:
        super().__init__(f"legal hold {hold_id!r} is already released")
