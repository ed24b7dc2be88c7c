"""Coupons: codes a member presents at the till (a flyer, a promo code, one issued by an earlier purchase), each
valid for a period and a limited number of uses, perhaps for one member only.

A presented coupon must exist, be valid now, belong to no one else and have a use left, or the purchase is refused
and writes nothing. It is used — one use counted — when the purchase commits and a rule whose condition reads the
coupons applied; a coupon no applied rule looked at stays unused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from coalition.domain.errors import Conflict, InvalidInput

MAX_CODE_LENGTH = 64
MAX_COUPONS_PER_PURCHASE = 20
MAX_USES = 1_000_000
_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]*")
# no 0/O, 1/I/L: read aloud or typed from a flyer without mistakes
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GENERATED_LENGTH = 10


@dataclass(frozen=True, slots=True)
class Coupon:
    id: int
    code: str
    campaign: str
    member_id: int | None  # None: anyone may present it
    valid_from: datetime
    valid_until: datetime  # exclusive
    max_uses: int
    uses: int


@dataclass(frozen=True, slots=True)
class NewCoupon:
    code: str
    campaign: str
    member_id: int | None
    valid_from: datetime
    valid_until: datetime
    max_uses: int
    issued_by_purchase_id: str | None = None


def normalize_code(code: str, *, field: str) -> str:
    """Codes are compared without case and surrounding spaces: 'spring10 ' is SPRING10."""
    text = code.strip().upper()
    if not text or len(text) > MAX_CODE_LENGTH or not _CODE.fullmatch(text):
        raise InvalidInput(
            f"'{code}' is not a coupon code: 1 to {MAX_CODE_LENGTH} letters, digits, '-' or '_'", field=field
        )
    return text


def normalize_codes(codes: Sequence[str], *, field: str = "coupons") -> tuple[str, ...]:
    if not codes:  # most purchases present none
        return ()
    if len(codes) > MAX_COUPONS_PER_PURCHASE:
        raise InvalidInput(f"at most {MAX_COUPONS_PER_PURCHASE} coupons per purchase", field=field)
    normalized = tuple(normalize_code(code, field=f"{field}[{index}]") for index, code in enumerate(codes))
    if len(set(normalized)) != len(normalized):
        raise InvalidInput("a coupon is presented twice", field=field)
    return normalized


def accept_coupons(
    codes: Sequence[str], found: Mapping[str, Coupon], member_id: int, now: datetime, *, field: str = "coupons"
) -> tuple[Coupon, ...]:
    """The presented coupons (normalized codes), each checked; the first that cannot be used refuses them all."""
    accepted = []
    for index, code in enumerate(codes):
        where = f"{field}[{index}]"
        coupon = found.get(code)
        if coupon is None:
            raise InvalidInput(f"there is no coupon '{code}' in this network", field=where)
        if coupon.member_id is not None and coupon.member_id != member_id:
            raise InvalidInput(f"coupon '{code}' was issued to another member", field=where)
        if now < coupon.valid_from:
            raise InvalidInput(f"coupon '{code}' is valid from {coupon.valid_from.isoformat()}", field=where)
        if now >= coupon.valid_until:
            raise InvalidInput(f"coupon '{code}' expired at {coupon.valid_until.isoformat()}", field=where)
        if coupon.uses >= coupon.max_uses:
            raise Conflict(f"coupon '{code}' is used up ({coupon.uses} of {coupon.max_uses} uses)", field=where)
        accepted.append(coupon)
    return tuple(accepted)


def generate_code(prefix: str = "") -> str:
    """A random code from the OS's randomness (31^10 ≈ 8·10^14 codes), after an optional campaign prefix."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))
    return f"{prefix}{body}"


def issued_coupon(
    campaign: str, member_id: int, valid_days: int, uses: int, now: datetime, purchase_id: str
) -> NewCoupon:
    """A coupon a rule issues to the member with a purchase: valid from now for `valid_days` days."""
    return NewCoupon(
        code=generate_code(),
        campaign=campaign,
        member_id=member_id,
        valid_from=now,
        valid_until=now + timedelta(days=valid_days),
        max_uses=uses,
        issued_by_purchase_id=purchase_id,
    )
