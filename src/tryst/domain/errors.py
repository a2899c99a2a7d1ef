"""Domain errors. Each carries a stable, documented ``code`` that every door reports as is
(see docs/protocol.md, "Error codes")."""

from __future__ import annotations


class TrystError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(TrystError):
    code = "invalid"
    status = 422


class NotAuthenticated(TrystError):
    code = "not_authenticated"
    status = 401


class Forbidden(TrystError):
    code = "forbidden"
    status = 403


class NotFound(TrystError):
    code = "not_found"
    status = 404


class Conflict(TrystError):
    code = "conflict"
    status = 409


class LimitReached(TrystError):
    code = "limit_reached"
    status = 409


class RateLimited(TrystError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, details={"retry_after": round(retry_after, 3)})
        self.retry_after = retry_after


class AdultOptInRequired(TrystError):
    code = "adult_opt_in_required"
    status = 403


class NoPersona(TrystError):
    code = "no_persona"
    status = 409


class NotMember(TrystError):
    code = "not_member"
    status = 403


class AgeAssuranceFailed(TrystError):
    code = "age_assurance_failed"
    status = 422


class RequestPending(TrystError):
    """The other side has not accepted. Declines and blocks give exactly this answer."""

    code = "request_pending"
    status = 409


class IllegalTransition(TrystError):
    """The action does not apply in the current state (a scene that has ended, a
    grant that was never given). Raised from the transition tables."""

    code = "invalid_state"
    status = 409


class ScenePaused(TrystError):
    """Red was called: nothing is delivered until everyone confirms resuming."""

    code = "scene_paused"
    status = 409


class NotGranted(TrystError):
    """The sender has not granted the channel the content belongs to."""

    code = "not_granted"
    status = 403
