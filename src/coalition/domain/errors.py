"""Domain errors: each has a stable machine code, a human title and, where it applies, the input field."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused an operation. Adapters map `code` to a transport status."""

    code: str = "domain-error"
    title: str = "The operation was refused"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError):
    code = "invalid-input"
    title = "A field of the request is invalid"


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"


class MemberNotFound(NotFound):
    code = "member-not-found"
    title = "No member has this identifier in this network"


class PurchaseNotFound(NotFound):
    code = "purchase-not-found"
    title = "No purchase with this id in this network"


class Conflict(DomainError):
    code = "conflict"
    title = "The request conflicts with stored data"


class CardNotActive(DomainError):
    code = "card-not-active"
    title = "The card cannot be used in its current state"


class RedeemNotAllowed(DomainError):
    code = "redeem-not-allowed"
    title = "These points cannot be redeemed on this check"


class InsufficientPoints(DomainError):
    code = "insufficient-points"
    title = "The member does not have enough points"


class InsufficientFunds(DomainError):
    code = "insufficient-funds"
    title = "The wallet or gift card cannot pay this much"


class RefundNotAllowed(DomainError):
    code = "refund-not-allowed"
    title = "The refund exceeds what was bought"


class LedgerInvariantViolated(DomainError):
    code = "ledger-invariant-violated"
    title = "A ledger transaction breaks an invariant"


class Unauthorized(DomainError):
    code = "unauthorized"
    title = "The credentials are missing, unknown or revoked"


class KeyExpired(Unauthorized):
    code = "key-expired"
    title = "The key has expired"


class Forbidden(DomainError):
    code = "forbidden"
    title = "These credentials may not do this"


class PlanLimitReached(Forbidden):
    """The network's plan allows no more customers (domain/plans.py)."""

    code = "plan-limit-reached"
    title = "The network's plan allows no more customers"


class NetworkSuspended(Forbidden):
    code = "network-suspended"
    title = "The server's operator has suspended this network"


class IdempotencyKeyReused(DomainError):
    code = "idempotency-key-reused"
    title = "This idempotency key was already used with a different request"


class PreconditionFailed(DomainError):
    """An edit sent with If-Match whose version is no longer the resource's (another edit came first)."""

    code = "precondition-failed"
    title = "The resource changed since the version this edit was based on"


class TooManyAttempts(DomainError):
    code = "too-many-attempts"
    title = "Too many failed attempts; wait a few minutes and try again"

    def __init__(self, detail: str, *, field: str | None = None, retry_after_seconds: int | None = None) -> None:
        super().__init__(detail, field=field)
        self.retry_after_seconds = retry_after_seconds  # answered as Retry-After


class RateLimited(TooManyAttempts):
    """More requests than a limit allows (per key, session, address, or a till's member lookups)."""

    code = "rate-limited"
    title = "Too many requests; slow down and try again after the time given in Retry-After"
