"""The administrator's coupons: a campaign's codes — typed (a promo word on a poster) or generated (flyers) —
each valid for a period and a number of uses, for anyone or for one member."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from coalition.application.audit import AuditTrail, entry
from coalition.application.ports import Clock, CouponsPort, MembersPort, ReferencePort
from coalition.domain.coupons import MAX_USES, Coupon, NewCoupon, generate_code, normalize_code
from coalition.domain.errors import Conflict, InvalidInput, MemberNotFound
from coalition.domain.identifiers import lookup_candidates
from coalition.domain.members import parse_label

MAX_COUPONS_PER_REQUEST = 10_000


@dataclass(frozen=True, slots=True)
class CouponRequest:
    campaign: str
    valid_until: datetime
    valid_from: datetime | None = None  # None: now
    uses: int = 1
    codes: tuple[str, ...] = ()  # given codes; or `count` generated ones
    count: int = 0
    prefix: str = ""
    member: str | None = None  # an identifier: the coupons are that member's only


class CouponsUnitOfWork(CouponsPort, MembersPort, ReferencePort, AuditTrail, Protocol):
    """The coupons, the member a personal coupon is for (a phone read in the network's country), the audit log."""


class CouponsUnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractAsyncContextManager[CouponsUnitOfWork]: ...


class CouponService:
    def __init__(self, unit_of_work: CouponsUnitOfWorkFactory, clock: Clock) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock

    async def create(self, network_id: int, request: CouponRequest) -> dict[str, Any]:
        now = self.clock.now()
        campaign = parse_label(request.campaign, field="campaign")
        valid_from = request.valid_from or now
        if request.valid_until <= valid_from:
            raise InvalidInput("a coupon's validity ends after it starts", field="valid_until")
        if not 1 <= request.uses <= MAX_USES:
            raise InvalidInput(f"a coupon has 1 to {MAX_USES} uses", field="uses")
        codes = _codes(request)
        async with self.unit_of_work() as uow:
            member_id = None
            if request.member:
                region = (await uow.program_of(network_id)).phone_region
                member = await uow.find_member(network_id, lookup_candidates(request.member, region), lock=False)
                if member is None:
                    raise MemberNotFound(
                        f"no member of this network has the identifier '{request.member}'", field="member"
                    )
                member_id = member.member_id
            taken = await uow.coupons(network_id, codes, lock=False)
            if taken:
                raise Conflict(f"these codes exist already: {', '.join(sorted(taken)[:10])}", field="codes")
            new = [
                NewCoupon(code, campaign, member_id, valid_from, request.valid_until, request.uses) for code in codes
            ]
            await uow.add_coupons(network_id, new, now)
            made = {"count": len(codes), "valid_from": valid_from, "valid_until": request.valid_until}
            made |= {"uses": request.uses, "member_id": member_id}
            await uow.audit(entry(network_id, "coupons.create", "campaign", campaign, after=made))
        return {
            "campaign": campaign,
            "valid_from": valid_from.isoformat(),
            "valid_until": request.valid_until.isoformat(),
            "uses": request.uses,
            "member_id": member_id,
            "codes": list(codes),
        }

    async def listing(
        self,
        network_id: int,
        campaign: str | None,
        limit: int,
        after_id: int | None = None,
        *,
        member_id: int | None = None,
    ) -> dict[str, Any]:
        """`limit` coupons in id order after `after_id` (of a campaign, of a member: only the coupons that member
        alone may present), each with its `id` (the API reads one more to know that a next page exists)."""
        async with self.unit_of_work() as uow:
            found = await uow.list_coupons(network_id, campaign, limit, after_id, member_id=member_id)
        return {"coupons": [_coupon_json(coupon) for coupon in found]}


def _codes(request: CouponRequest) -> tuple[str, ...]:
    if bool(request.codes) == bool(request.count):
        raise InvalidInput("give either `codes` or a `count` of codes to generate", field="codes")
    if request.codes:
        if len(request.codes) > MAX_COUPONS_PER_REQUEST:
            raise InvalidInput(f"at most {MAX_COUPONS_PER_REQUEST} codes at once", field="codes")
        codes = tuple(normalize_code(code, field=f"codes[{index}]") for index, code in enumerate(request.codes))
        if len(set(codes)) != len(codes):
            raise InvalidInput("a code is given twice", field="codes")
        return codes
    if not 1 <= request.count <= MAX_COUPONS_PER_REQUEST:
        raise InvalidInput(f"generate 1 to {MAX_COUPONS_PER_REQUEST} codes at once", field="count")
    prefix = normalize_code(request.prefix, field="prefix") if request.prefix else ""
    generated: set[str] = set()
    while len(generated) < request.count:
        generated.add(generate_code(prefix))
    return tuple(sorted(generated))


def _coupon_json(coupon: Coupon) -> dict[str, Any]:
    return {
        "id": coupon.id,
        "code": coupon.code,
        "campaign": coupon.campaign,
        "member_id": coupon.member_id,
        "valid_from": coupon.valid_from.isoformat(),
        "valid_until": coupon.valid_until.isoformat(),
        "uses": coupon.uses,
        "max_uses": coupon.max_uses,
    }
