"""Settings read from the environment (COALITION_*), with defaults that run a demo on an embedded database."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///./coalition.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    operator_token: str | None  # may create networks through the admin API; unset = only the CLI can
    public_url: str
    smtp_host: str | None = None  # statements and reports are e-mailed through it; unset = e-mail is off
    smtp_port: int = 25
    mail_from: str = "coalition@localhost"
    open_registration: bool = False  # anyone may register a shop at /console/register (a hosted server's sign-up)
    # --- slice revocation-time-scope (issue 12, hole 5): how far a till's occurred_at may be from the server's clock
    occurred_at_max_age_hours: int = 72
    occurred_at_max_ahead_minutes: int = 5

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("COALITION_DATABASE_URL", DEFAULT_DATABASE_URL),
            operator_token=os.environ.get("COALITION_OPERATOR_TOKEN") or None,
            public_url=os.environ.get("COALITION_PUBLIC_URL", "http://127.0.0.1:8000"),
            smtp_host=os.environ.get("COALITION_SMTP_HOST") or None,
            smtp_port=int(os.environ.get("COALITION_SMTP_PORT", "25")),
            mail_from=os.environ.get("COALITION_MAIL_FROM", "coalition@localhost"),
            open_registration=os.environ.get("COALITION_OPEN_REGISTRATION", "") == "1",
            # --- slice revocation-time-scope (issue 12, hole 5)
            occurred_at_max_age_hours=int(os.environ.get("COALITION_OCCURRED_AT_MAX_AGE_HOURS", "72")),
            occurred_at_max_ahead_minutes=int(os.environ.get("COALITION_OCCURRED_AT_MAX_AHEAD_MINUTES", "5")),
        )
