"""A network's customer-message settings (docs/messages.md, "Settings"): which kind goes on which channel, quiet
hours, the cap per member and channel per 24 h, the balance threshold and how early expiring points are announced.

Pure: parsed from the administrator's input with every refusal naming its field. Without a stored row every kind is
off, so a network that never turned messages on costs its purchases nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from coalition.domain.errors import InvalidInput
from coalition.domain.messages import (
    DEFAULT_CAP_PER_DAY,
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    MAX_CAP_PER_DAY,
    Channel,
    MessageKind,
    SendingPolicy,
)

DEFAULT_EXPIRING_DAYS_BEFORE = 7
MAX_EXPIRING_DAYS_BEFORE = 90
MAX_THRESHOLD = 1_000_000_000  # points; an INTEGER column holds it on both engines

Switches = frozenset[tuple[MessageKind, Channel]]


@dataclass(frozen=True)
class MessageDefaults:
    """What a network without its own settings gets (COALITION_MESSAGE_QUIET_HOURS, _CAP_PER_DAY)."""

    quiet_hours: tuple[time, time] | None = (DEFAULT_QUIET_START, DEFAULT_QUIET_END)
    cap_per_day: int = DEFAULT_CAP_PER_DAY


@dataclass(frozen=True)
class MessageSettings:
    network_id: int
    enabled: Switches = frozenset()
    quiet_hours: tuple[time, time] | None = (DEFAULT_QUIET_START, DEFAULT_QUIET_END)  # None: none
    cap_per_day: int = DEFAULT_CAP_PER_DAY
    balance_threshold: int | None = None  # points; None: no balance_threshold message
    expiring_days_before: int = DEFAULT_EXPIRING_DAYS_BEFORE
    version: int = 0  # 0: never saved (the defaults)
    updated_at: datetime | None = None
    _kinds: frozenset[MessageKind] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kinds = frozenset(kind for kind, _ in self.enabled)
        if self.balance_threshold is None:
            kinds -= {MessageKind.BALANCE_THRESHOLD}
        object.__setattr__(self, "_kinds", kinds)

    @classmethod
    def default(cls, network_id: int, defaults: MessageDefaults) -> MessageSettings:
        return cls(network_id, frozenset(), defaults.quiet_hours, defaults.cap_per_day)

    def channels(self, kind: MessageKind) -> tuple[Channel, ...]:
        """The channels this kind goes on (none for balance_threshold without a threshold)."""
        if kind not in self._kinds:
            return ()
        return tuple(channel for channel in Channel if (kind, channel) in self.enabled)

    def any_of(self, kinds: Iterable[MessageKind]) -> bool:
        return any(kind in self._kinds for kind in kinds)

    def policy(self, timezone: str) -> SendingPolicy:
        start, end = self.quiet_hours or (time(0), time(0))  # start == end: no quiet hours
        return SendingPolicy(timezone=timezone, quiet_start=start, quiet_end=end, cap_per_day=self.cap_per_day)

    def enabled_json(self) -> dict[str, list[str]]:
        return {kind.value: list(self.channels_enabled(kind)) for kind in MessageKind}

    def channels_enabled(self, kind: MessageKind) -> tuple[str, ...]:
        """As switched on, whatever the threshold (what the administrator sees)."""
        return tuple(channel.value for channel in Channel if (kind, channel) in self.enabled)

    def audited(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled_json(),
            "quiet_hours": quiet_hours_text(self.quiet_hours),
            "cap_per_day": self.cap_per_day,
            "balance_threshold": self.balance_threshold,
            "expiring_days_before": self.expiring_days_before,
        }


def quiet_hours_text(quiet_hours: tuple[time, time] | None) -> str | None:
    if quiet_hours is None:
        return None
    return f"{quiet_hours[0].strftime('%H:%M')}-{quiet_hours[1].strftime('%H:%M')}"


def parse_enabled(value: object) -> Switches:
    """{"thank_you": ["email", "sms"], ...}: a kind left out is off."""
    if not isinstance(value, Mapping):
        raise InvalidInput("enabled is an object: kind → list of channels", field="enabled")
    found: set[tuple[MessageKind, Channel]] = set()
    for name, channels in value.items():
        try:
            kind = MessageKind(str(name))
        except ValueError:
            raise InvalidInput(
                f"unknown kind {str(name)[:40]!r}; kinds are {', '.join(MessageKind)}", field=f"enabled.{name}"
            ) from None
        if not isinstance(channels, list | tuple) or len(channels) > len(Channel):
            raise InvalidInput("a list of channels: email, sms", field=f"enabled.{kind.value}")
        for channel in channels:
            try:
                found.add((kind, Channel(str(channel))))
            except ValueError:
                raise InvalidInput(
                    f"unknown channel {str(channel)[:20]!r}; channels are email, sms", field=f"enabled.{kind.value}"
                ) from None
    return frozenset(found)


def parse_time(value: object, name: str) -> time:
    text = str(value).strip()
    try:
        if len(text) != 5 or text[2] != ":":
            raise ValueError
        return time(int(text[:2]), int(text[3:]))
    except ValueError:
        raise InvalidInput("a local time written HH:MM, e.g. 21:00", field=name) from None


def parse_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"a whole number from {low} to {high}", field=name)
    if not low <= value <= high:
        raise InvalidInput(f"a whole number from {low} to {high}", field=name)
    return value


def changed(current: MessageSettings, changes: Mapping[str, Any], now: datetime) -> MessageSettings:
    """The settings with the fields given changed (the others kept); each refusal names its field."""
    known = {"enabled", "quiet_start", "quiet_end", "cap_per_day", "balance_threshold", "expiring_days_before"}
    for name in changes:
        if name not in known:
            raise InvalidInput(f"unknown field; the fields are {', '.join(sorted(known))}", field=str(name)[:40])
    enabled = parse_enabled(changes["enabled"]) if "enabled" in changes else current.enabled
    quiet = current.quiet_hours
    if "quiet_start" in changes or "quiet_end" in changes:
        start = changes.get("quiet_start", quiet[0] if quiet else None)
        end = changes.get("quiet_end", quiet[1] if quiet else None)
        if (start is None) != (end is None):
            missing = "quiet_end" if end is None else "quiet_start"
            raise InvalidInput("quiet hours need a start and an end (both null: none)", field=missing)
        quiet = None if start is None else (parse_time(start, "quiet_start"), parse_time(end, "quiet_end"))
        if quiet is not None and quiet[0] == quiet[1]:
            raise InvalidInput("the end must differ from the start (null for no quiet hours)", field="quiet_end")
    cap = current.cap_per_day
    if "cap_per_day" in changes:
        cap = parse_int(changes["cap_per_day"], "cap_per_day", 1, MAX_CAP_PER_DAY)
    threshold = current.balance_threshold
    if "balance_threshold" in changes:
        raw = changes["balance_threshold"]
        threshold = None if raw is None else parse_int(raw, "balance_threshold", 1, MAX_THRESHOLD)
    days = current.expiring_days_before
    if "expiring_days_before" in changes:
        days = parse_int(changes["expiring_days_before"], "expiring_days_before", 1, MAX_EXPIRING_DAYS_BEFORE)
    return MessageSettings(current.network_id, enabled, quiet, cap, threshold, days, current.version + 1, now)
