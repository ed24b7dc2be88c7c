"""Settings read from the environment (COALITION_*), with defaults that run a demo on an embedded database."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///./coalition.db"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    database_url: str
    operator_token: str | None  # may create networks through the admin API; unset = only the CLI can
    public_url: str
    # public_url was configured (COALITION_PUBLIC_URL, or given in code); else it is the default, and the pages that
    # print this server's address (the counter's QR code, the start sheet) use the address the request came to
    public_url_set: bool = True
    smtp_host: str | None = None  # statements and reports are e-mailed through it; unset = e-mail is off
    smtp_port: int = 25
    mail_from: str = "coalition@localhost"
    open_registration: bool = False  # anyone may register a shop at /console/register (a hosted server's sign-up)
    # --- sign-in-limits: trusted proxies and rate limits (README "Rate limits"; application/rate_limits.py) ---
    # X-Forwarded-For is believed only from these peers (addresses or CIDRs); none = the peer is the client
    trusted_proxies: tuple[str, ...] = ()
    # "<count>/<s|min|h>" (a bucket of <count> requests refilled over the period) or "off"; per worker process
    rate_limit_address: str = "300/s"
    rate_limit_terminal_key: str = "100/s"
    rate_limit_admin_key: str = "50/s"
    rate_limit_session: str = "50/s"
    member_lookups: str = "60/min"  # a till's lookups of members (GET /v1/members/..., the terminal page)
    member_lookup_misses: str = "10/min"  # of which find nobody: enumerating cards or phones is refused
    # --- end sign-in-limits ---
    # --- slice revocation-time-scope (issue 12, hole 5): how far a till's occurred_at may be from the server's clock
    occurred_at_max_age_hours: int = 72
    occurred_at_max_ahead_minutes: int = 5
    # --- issue 16: background loops (the scheduler) in every server worker; from the environment they are on
    # unless COALITION_BACKGROUND=off, while settings built in code (tests, embedding) start none unless they ask
    background: bool = False
    scheduler_tick_seconds: float = 30.0
    # webhooks to loopback, private or link-local addresses: refused from the environment unless
    # COALITION_WEBHOOKS_ALLOW_PRIVATE=1 (a hosted server's tenants must not reach its own network); allowed in code
    webhooks_allow_private: bool = True
    # --- issue 16, customer messages (docs/messages.md): gateways, the unsubscribe links' secret, quiet hours, cap
    sms_gateway_url: str | None = None  # a generic HTTP SMS gateway; else sms_file; else SMS is off
    sms_gateway_token: str | None = None  # sent as "Authorization: Bearer <token>"
    sms_gateway_timeout_seconds: float = 10.0
    sms_file: str | None = None  # one JSON line per SMS appended here (local use and tests)
    message_secret: str | None = None  # signs unsubscribe links; unset = a random one kept in the database
    message_quiet_hours: str = "21:00-09:00"  # local time of the network's zone; "off" = none
    message_cap_per_day: int = 3  # per member and channel, in any rolling 24 hours
    # how long delivered, failed and skipped outbox messages (and their attempts) are kept: the daily outbox_cleanup
    outbox_retention_days: int = 30
    # a worker's claim on outbox messages: a killed worker's messages are taken over after this (at least 30 s, more
    # than one send's longest)
    outbox_lease_seconds: int = 60
    # the largest file an import takes (CSV or XLSX, docs/files.md): the API's upload cap is the same number
    import_max_bytes: int = 20 * 1024 * 1024
    # --- issue 18: the member's card as an Apple Wallet pass (docs/signup.md); all four set, or no pass is offered
    pass_cert: str | None = None  # PEM file: the operator's Pass Type ID certificate
    pass_key: str | None = None  # PEM file: its private key (unencrypted)
    pass_type_id: str | None = None  # pass.com.example.loyalty
    pass_team_id: str | None = None  # the Apple team identifier
    pass_chain: str | None = None  # PEM file of certificates to include (Apple's WWDR intermediate), optional

    @property
    def wallet_pass_configured(self) -> bool:
        return bool(self.pass_cert and self.pass_key and self.pass_type_id and self.pass_team_id)

    # issue 18, the access log (adapters/http/access_log.py, docs/operations.md): "stderr", "-" (stdout), "off" or
    # a file's path; from the environment it is on (stderr), while settings built in code (tests) log nothing
    access_log: str = "off"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("COALITION_DATABASE_URL", DEFAULT_DATABASE_URL),
            operator_token=os.environ.get("COALITION_OPERATOR_TOKEN") or None,
            public_url=os.environ.get("COALITION_PUBLIC_URL") or DEFAULT_PUBLIC_URL,
            public_url_set=bool(os.environ.get("COALITION_PUBLIC_URL")),
            smtp_host=os.environ.get("COALITION_SMTP_HOST") or None,
            smtp_port=int(os.environ.get("COALITION_SMTP_PORT", "25")),
            mail_from=os.environ.get("COALITION_MAIL_FROM", "coalition@localhost"),
            open_registration=os.environ.get("COALITION_OPEN_REGISTRATION", "") == "1",
            **_sign_in_limits_from_env(),
            # --- slice revocation-time-scope (issue 12, hole 5)
            occurred_at_max_age_hours=int(os.environ.get("COALITION_OCCURRED_AT_MAX_AGE_HOURS", "72")),
            occurred_at_max_ahead_minutes=int(os.environ.get("COALITION_OCCURRED_AT_MAX_AHEAD_MINUTES", "5")),
            background=os.environ.get("COALITION_BACKGROUND", "on").strip().lower() != "off",
            scheduler_tick_seconds=float(os.environ.get("COALITION_SCHEDULER_TICK_SECONDS", "30")),
            webhooks_allow_private=os.environ.get("COALITION_WEBHOOKS_ALLOW_PRIVATE", "") == "1",
            **_messages_from_env(),
            outbox_retention_days=_positive_int("COALITION_OUTBOX_RETENTION_DAYS", 30),
            outbox_lease_seconds=_lease_seconds(),
            import_max_bytes=_positive_int("COALITION_IMPORT_MAX_BYTES", 20 * 1024 * 1024),
            pass_cert=os.environ.get("COALITION_PASS_CERT") or None,
            pass_key=os.environ.get("COALITION_PASS_KEY") or None,
            pass_type_id=os.environ.get("COALITION_PASS_TYPE_ID") or None,
            pass_team_id=os.environ.get("COALITION_PASS_TEAM_ID") or None,
            pass_chain=os.environ.get("COALITION_PASS_CHAIN") or None,
            access_log=os.environ.get("COALITION_ACCESS_LOG", "").strip() or "stderr",
        )


def _lease_seconds() -> int:
    value = _positive_int("COALITION_OUTBOX_LEASE_SECONDS", 60)
    if value < 30:
        raise ValueError(f"COALITION_OUTBOX_LEASE_SECONDS must be at least 30 (one send may take 25 s), not {value}")
    return value


def _positive_int(name: str, default: int) -> int:
    """A whole number of at least 1 from the environment; a typo stops the server at start, naming the variable."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _sign_in_limits_from_env() -> dict[str, Any]:
    """The sign-in-limits slice's settings, checked here so that a typo stops the server at start."""
    from coalition.application.rate_limits import parse_rate, parse_trusted_proxies

    found: dict[str, Any] = {}
    proxies = os.environ.get("COALITION_TRUSTED_PROXIES", "")
    found["trusted_proxies"] = tuple(item.strip() for item in proxies.split(",") if item.strip())
    parse_trusted_proxies(found["trusted_proxies"])
    for name in (
        "rate_limit_address",
        "rate_limit_terminal_key",
        "rate_limit_admin_key",
        "rate_limit_session",
        "member_lookups",
        "member_lookup_misses",
    ):
        value = os.environ.get(f"COALITION_{name.upper()}")
        if value is not None:
            parse_rate(value, f"COALITION_{name.upper()}")
            found[name] = value.strip()
    return found


def _messages_from_env() -> dict[str, Any]:
    """Customer messages' settings (docs/messages.md), checked here so that a typo stops the server at start."""
    from coalition.domain.errors import InvalidInput
    from coalition.domain.messages import parse_quiet_hours

    found: dict[str, Any] = {
        "sms_gateway_url": os.environ.get("COALITION_SMS_GATEWAY_URL") or None,
        "sms_gateway_token": os.environ.get("COALITION_SMS_GATEWAY_TOKEN") or None,
        "sms_gateway_timeout_seconds": float(os.environ.get("COALITION_SMS_GATEWAY_TIMEOUT_SECONDS", "10")),
        "sms_file": os.environ.get("COALITION_SMS_FILE") or None,
        "message_secret": os.environ.get("COALITION_MESSAGE_SECRET") or None,
        "message_quiet_hours": os.environ.get("COALITION_MESSAGE_QUIET_HOURS", "21:00-09:00").strip(),
        "message_cap_per_day": int(os.environ.get("COALITION_MESSAGE_CAP_PER_DAY", "3")),
    }
    url = found["sms_gateway_url"]
    if url is not None and not url.startswith(("http://", "https://")):
        raise ValueError("COALITION_SMS_GATEWAY_URL must be an http:// or https:// URL")
    try:
        parse_quiet_hours(found["message_quiet_hours"])
    except InvalidInput as error:
        raise ValueError(f"COALITION_MESSAGE_QUIET_HOURS: {error.detail}") from None
    if not 1 <= found["message_cap_per_day"] <= 100:
        raise ValueError("COALITION_MESSAGE_CAP_PER_DAY must be from 1 to 100")
    return found
