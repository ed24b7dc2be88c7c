"""Customer messages (issue 16, point 3; docs/messages.md): their kinds, the sending policy and the balance threshold.

Pure: the outbox asks `decide_sending` whether a message goes now, later or never, and `threshold_crossing` whether a
balance change fires a balance_threshold message. Nothing here reads a clock or a database; every time is an aware
datetime given by the caller.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from coalition.domain.errors import InvalidInput


class MessageKind(StrEnum):
    THANK_YOU = "thank_you"  # after a purchase, with the new balance
    WELCOME = "welcome"  # after enrolment
    POINTS_EXPIRING = "points_expiring"  # points that expire in N days
    GIFT_GRANTED = "gift_granted"
    BALANCE_THRESHOLD = "balance_threshold"  # the balance crossed the administrator's threshold upwards
    BIRTHDAY = "birthday"
    CAMPAIGN = "campaign"  # the administrator's message to a segment


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


# Marketing: sent only to members who agreed to newsletters. A birthday greeting carries an offer, so it counts as one.
MARKETING_KINDS = frozenset({MessageKind.CAMPAIGN, MessageKind.BIRTHDAY})
# Service messages tell the member about their own account: their contact, kept under the consent to data
# processing, is enough, unless they opted out of that kind on that channel.
SERVICE_KINDS = frozenset(MessageKind) - MARKETING_KINDS


class SkipReason(StrEnum):
    NO_CONTACT = "no_contact"  # no e-mail address (or phone) for the channel
    NO_DATA_CONSENT = "no_data_processing_consent"
    NO_NEWSLETTER_CONSENT = "no_newsletter_consent"
    OPTED_OUT = "opted_out"  # unsubscribed from this kind on this channel


@dataclass(frozen=True)
class Recipient:
    """What the policy needs of a member: consents, contacts and opt-outs ((kind, channel) pairs)."""

    consent_data_processing: bool
    consent_newsletters: bool
    email: str | None = None
    phone: str | None = None
    opted_out: frozenset[tuple[MessageKind, Channel]] = frozenset()

    def contact(self, channel: Channel) -> str | None:
        value = self.email if channel is Channel.EMAIL else self.phone
        return value.strip() or None if value else None


DEFAULT_QUIET_START = time(21, 0)
DEFAULT_QUIET_END = time(9, 0)
DEFAULT_CAP_PER_DAY = 3
CAP_WINDOW = timedelta(hours=24)
MAX_CAP_PER_DAY = 100


@dataclass(frozen=True)
class SendingPolicy:
    """A network's quiet hours (local time of its zone; start == end means none) and per-channel cap per 24 h."""

    timezone: str = "UTC"
    quiet_start: time = DEFAULT_QUIET_START
    quiet_end: time = DEFAULT_QUIET_END
    cap_per_day: int = DEFAULT_CAP_PER_DAY
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.cap_per_day <= MAX_CAP_PER_DAY:
            raise InvalidInput(f"the cap must be from 1 to {MAX_CAP_PER_DAY} messages a day", field="cap_per_day")
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    def in_quiet_hours(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone).time()
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return False
        if start < end:
            return start <= local < end
        return local >= start or local < end  # over midnight: 21:00–09:00

    def quiet_hours_end(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` outside quiet hours."""
        if not self.in_quiet_hours(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date() if local.time() < self.quiet_end else local.date() + timedelta(days=1)
        end = datetime.combine(day, self.quiet_end, tzinfo=self.zone)
        return end.astimezone(moment.tzinfo)


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """ "21:00-09:00" → (21:00, 09:00); "off" → no quiet hours (start == end)."""
    if text.strip().lower() == "off":
        return time(0), time(0)
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise InvalidInput("quiet hours are written HH:MM-HH:MM, or off", field="quiet_hours") from None
    return start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Send:
    at: datetime


@dataclass(frozen=True)
class Defer:
    until: datetime
    why: str  # quiet_hours | frequency_cap


@dataclass(frozen=True)
class Skip:
    reason: SkipReason


Verdict = Send | Defer | Skip


def skip_reason(kind: MessageKind, channel: Channel, recipient: Recipient) -> SkipReason | None:
    """Why this member must not get this kind on this channel at all, or None."""
    if recipient.contact(channel) is None:
        return SkipReason.NO_CONTACT
    if not recipient.consent_data_processing:
        return SkipReason.NO_DATA_CONSENT
    if (kind, channel) in recipient.opted_out:  # the member's own act: named before the consent it also withdrew
        return SkipReason.OPTED_OUT
    if kind in MARKETING_KINDS and not recipient.consent_newsletters:
        return SkipReason.NO_NEWSLETTER_CONSENT
    return None


def decide_sending(
    kind: MessageKind,
    channel: Channel,
    recipient: Recipient,
    due_at: datetime,
    policy: SendingPolicy,
    sent_on_channel: Iterable[datetime] = (),
) -> Verdict:
    """Send now, defer (quiet hours, or the cap of the rolling 24 h window full) or skip with the reason.

    `sent_on_channel` are the times of the member's messages already sent on this channel (any kind); a deferral is
    to the first moment both outside quiet hours and under the cap, never a drop."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be an aware datetime")
    reason = skip_reason(kind, channel, recipient)
    if reason is not None:
        return Skip(reason)
    sent = sorted(moment for moment in sent_on_channel if moment > due_at - CAP_WINDOW)
    moment, why = due_at, ""
    for _ in range(policy.cap_per_day + 3):  # each step frees a slot of the cap or leaves quiet hours
        quiet_end = policy.quiet_hours_end(moment)
        if quiet_end != moment:
            moment, why = quiet_end, why or "quiet_hours"
            continue
        in_window = [at for at in sent if moment - CAP_WINDOW < at <= moment]
        if len(in_window) < policy.cap_per_day:
            break
        # the slot frees when the oldest message of the window leaves it
        moment, why = in_window[len(in_window) - policy.cap_per_day] + CAP_WINDOW, why or "frequency_cap"
    return Send(due_at) if moment == due_at else Defer(moment, why)


@dataclass(frozen=True)
class ThresholdCheck:
    fire: bool  # send a balance_threshold message now
    armed: bool  # remember: the next upward crossing fires


def threshold_crossing(before: int, after: int, threshold: int, armed: bool | None) -> ThresholdCheck:
    """Once per upward crossing of `threshold` points; again only after the balance fell back below it.

    `armed` is what the last check remembered (None: never checked). A change that starts below the threshold arms
    it too, so a fall that was never checked is not lost."""
    if threshold <= 0:
        raise InvalidInput("the threshold must be a positive number of points", field="threshold")
    was_below = bool(armed) or before < threshold
    fire = was_below and after >= threshold
    return ThresholdCheck(fire=fire, armed=after < threshold)


@dataclass(frozen=True)
class Unsubscribe:
    """What an unsubscribe link stands for: this member of this network, this kind on this channel."""

    network_id: int
    member_id: int
    kind: MessageKind
    channel: Channel


MAX_TOKEN_CHARS = 200


def unsubscribe_token(secret: bytes, what: Unsubscribe) -> str:
    """`<network>.<member>.<kind>.<channel>.<HMAC-SHA256 of those, base64url>`: needs no table, cannot be forged."""
    claim = f"{what.network_id}.{what.member_id}.{what.kind.value}.{what.channel.value}"
    return f"{claim}.{_signature(secret, claim)}"


def read_unsubscribe_token(secret: bytes, token: str) -> Unsubscribe | None:
    """The link's meaning, or None for anything not signed by this server's secret (compared in constant time)."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    claim, _, signature = token.rpartition(".")
    if not hmac.compare_digest(_signature(secret, claim).encode(), signature.encode()):
        return None
    network, member, kind, channel = claim.split(".")
    return Unsubscribe(int(network), int(member), MessageKind(kind), Channel(channel))


def _signature(secret: bytes, claim: str) -> str:
    digest = hmac.new(secret, b"unsubscribe." + claim.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
