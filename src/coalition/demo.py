"""The demo network: a corner shop running the seed's small-shop program, with a café and a water park beside it.

Its keys and passwords are published on purpose, so a newcomer can try a purchase with curl in the first minute.
Loading is idempotent: a second run finds the network and only prints it. Because its credentials are public, it
is not loaded into a database that already holds another network unless forced, and `coalition serve` warns when
its keys work on a server that listens beyond this machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from coalition.application.admin import NetworkRef, ProgramSettings
from coalition.application.commands import PurchaseInput, fingerprint
from coalition.application.devices_admin import DeviceRegistration
from coalition.application.enrolment import EnrolInput
from coalition.application.ports import Profile
from coalition.application.pos import PosService
from coalition.application.refunds import RefundInput
from coalition.domain.bonus import Tier
from coalition.domain.errors import Conflict, Unauthorized
from coalition.domain.money import format_minor
from coalition.wiring import Services

DEMO_CODE = "demo"
DEMO_ADMIN_KEY = "adm_demo_network"

# The seed's small-shop service: lifetime spend below 10,000 → accrue 3 %, pay up to 15 % with points;
# 10,000–50,000 → 5 % and 30 %; above 50,000 → 7 % and 50 %; points pay only checks from 1,500.
SMALL_SHOP_PROGRAM = ProgramSettings(
    code="bonus",
    name="Bonus points",
    tiers=(
        Tier(min_lifetime_spend_minor=0, accrual_bp=300, fixed_points_per_check=0, redeem_cap_bp=1500),
        Tier(min_lifetime_spend_minor=10_000_00, accrual_bp=500, fixed_points_per_check=0, redeem_cap_bp=3000),
        # "above 50,000": 50,000.00 itself still earns 5 %, so the top tier starts one minor unit above it.
        Tier(min_lifetime_spend_minor=50_000_01, accrual_bp=700, fixed_points_per_check=0, redeem_cap_bp=5000),
    ),
    min_check_for_redeem_minor=1_500_00,
    point_value_minor=100,
)


@dataclass(frozen=True)
class DemoOutlet:
    partner: str
    outlet: str
    timezone: str
    terminal_key: str
    cashier_login: str
    cashier_password: str
    owner_login: str
    owner_password: str


OUTLETS = (
    DemoOutlet(
        "Corner Shop",
        "Corner Shop till",
        "Europe/Moscow",
        "term_demo_corner_shop",
        "anna",
        "anna-demo-1",
        "shop-owner",
        "shop-demo-1",
    ),
    DemoOutlet(
        "Blue Cup Café",
        "Café counter",
        "Europe/Moscow",
        "term_demo_cafe",
        "boris",
        "boris-demo-1",
        "cafe-owner",
        "cafe-demo-1",
    ),
    DemoOutlet(
        "Aqua Park",
        "Ticket office",
        "Europe/Moscow",
        "term_demo_ticket_office",
        "vera",
        "vera-demo-1",
        "park-owner",
        "park-demo-1",
    ),
)
DEMO_ADMIN_LOGIN, DEMO_ADMIN_PASSWORD = "admin", "admin-demo-1"  # the console's administrator


@dataclass(frozen=True)
class DemoDevice:
    """A machine at the water park that takes the card (issue 15): an outlet of Aqua Park's with its own key."""

    name: str
    kind: str
    key: str
    price_list: dict[str, Any] | None = None
    opening_hours: dict[str, Any] | None = None  # None: always open


_PARK_HOURS = {day: [["09:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
_WATER = {
    "S": {"name": "Still water 0.3 l", "price": "20.00"},
    "F": {"name": "Sparkling water 0.3 l", "price": "30.00"},
}
DEVICES = (
    DemoDevice("Arcade: Space Race", "arcade", "dev_demo_arcade", {"per_use": "50.00"}, _PARK_HOURS),
    DemoDevice("Water dispenser", "dispenser", "dev_demo_water", {"slots": _WATER}),
    DemoDevice(
        "Billiard table 1", "timed_table", "dev_demo_billiards", {"per_minute": "5.00", "max_minutes": 120}, _PARK_HOURS
    ),
    DemoDevice("Entrance turnstile", "turnstile", "dev_demo_turnstile"),
    DemoDevice("Top-up kiosk", "kiosk", "dev_demo_kiosk"),
)


@dataclass(frozen=True)
class DemoMember:
    card: str
    name: str | None
    phone: str | None
    checks: tuple[str, ...]  # purchases at the corner shop that build the lifetime spend
    pin: str | None = None  # for the member's page at /me (the demo sends no e-mail, so its codes cannot arrive)


MEMBERS = (
    DemoMember("1000-0001", "Irina Petrova", "+7 912 000 00 01", ("1200.00", "2300.00"), pin="2580"),
    DemoMember("1000-0002", "Oleg Smirnov", "+7 912 000 00 02", ("8000.00", "9000.00", "4000.00"), pin="1357"),
    DemoMember("1000-0003", "Maria Ivanova", "+7 912 000 00 03", ("20000.00", "25000.00", "12000.00")),
    DemoMember("1000-0004", None, None, ("600.00",)),
)


# A week of sales by the demo cashiers, so the console's reports have something to show. They go on a walk-in
# customer's anonymous card of their own, so the members above keep the balances their checks give them.
WALK_IN_CARD = "2000-0001"
# (days ago, minutes after the opening at 9:00 — today: minutes before now, outlet index, check, points to redeem)
SALES = tuple(
    (days, minutes, outlet, amount, redeem)
    for days in range(6, -1, -1)
    for minutes, outlet, amount, redeem in (
        (70, 0, "1850.00", 40 if days < 5 else 0),
        (185, 1, "320.00", 0),
        (260, 2, "1200.00", 0),
        (400, 0, "640.50", 0),
        (555, 1, "275.00", 0),
    )
    if (days + minutes) % 3 != 1  # not every sale every day
)


def _sale_moment(now: datetime, days: int, minutes: int) -> datetime:
    """Past days' sales in business hours at the outlets (Moscow); today's before now, whatever the hour."""
    if days == 0:
        return now - timedelta(minutes=minutes // 10 + 5)
    local = now.astimezone(ZoneInfo(OUTLETS[0].timezone)).date() - timedelta(days=days)
    opening = datetime.combine(local, time(9), tzinfo=ZoneInfo(OUTLETS[0].timezone))
    return opening + timedelta(minutes=minutes)


class DemoRefused(Conflict):
    """The database holds other networks: the demo's published credentials do not belong beside them."""


async def load_demo(services: Services, force: bool = False) -> bool:
    """Create the demo network unless it exists; True if it was created now. A database that holds any other
    network is refused (unless `force`): the demo's keys and passwords are printed in the README for anyone."""
    try:
        await services.admin.network(DEMO_CODE)
        return False
    except Exception as error:
        if getattr(error, "code", None) != "not-found":
            raise
    others = [code for code in await services.admin.network_codes() if code != DEMO_CODE]
    if others and not force:
        raise DemoRefused(
            f"this database already holds the network(s) {', '.join(others)}: the demo would add keys and passwords "
            "that anyone can read in the README. Load it into another database (--database-url), or add --force "
            "if you mean it"
        )
    created = await services.admin.create_network(
        DEMO_CODE, "Demo coalition", "RUB", SMALL_SHOP_PROGRAM, admin_key=DEMO_ADMIN_KEY
    )
    network = NetworkRef(created["id"], DEMO_CODE, created["name"], "RUB")
    web = services.web_sessions
    await web.add_console_user(
        network.id, "administrator", None, DEMO_ADMIN_LOGIN, "Network admin", DEMO_ADMIN_PASSWORD
    )
    for spec in OUTLETS:
        partner = await services.admin.create_partner(network, spec.partner)
        outlet = await services.admin.create_outlet(network, partner["id"], spec.outlet, spec.timezone)
        await services.admin.create_terminal(network, outlet["id"], f"{spec.outlet} POS", key=spec.terminal_key)
        await services.admin.create_cashier(
            network, outlet["id"], spec.cashier_login, spec.cashier_login.title(), spec.cashier_password
        )
        await web.add_console_user(
            network.id, "owner", partner["id"], spec.owner_login, f"{spec.partner} owner", spec.owner_password
        )
    park = next(p for p in await services.admin.partners(network) if p["name"] == OUTLETS[2].partner)
    for device in DEVICES:
        registration = DeviceRegistration(
            park["id"], device.name, device.kind, OUTLETS[2].timezone, device.price_list, device.opening_hours
        )
        await services.device_admin.register(network, registration, key=device.key)
    shop = await services.pos.authenticate(OUTLETS[0].terminal_key)
    for member in MEMBERS:
        kind = "personal" if member.name else "anonymous"
        profile = Profile(name=member.name, phone=member.phone, consent_data_processing=bool(member.name))
        enrolled = await services.pos.enrol(
            shop,
            EnrolInput(kind, member.card, profile),
            f"demo-enrol-{member.card}",
            fingerprint("demo", member.card.encode()),
        )
        if member.pin is not None:
            await services.member_page.set_pin(int(enrolled.body["member"]["id"]), member.pin, member.pin)
        for number, amount in enumerate(member.checks, start=1):
            receipt = f"demo-{member.card}-{number}"
            await services.pos.purchase(
                shop,
                PurchaseInput(member.card, amount=amount, receipt=receipt),
                receipt,
                fingerprint("demo", receipt.encode()),
            )
    await _demo_sales(services, shop)
    return True


async def _demo_sales(services: Services, shop: Any) -> None:
    """The walk-in customer's purchases over the past week at every outlet, by its cashier, and one refund today."""
    await services.pos.enrol(
        shop, EnrolInput("anonymous", WALK_IN_CARD), f"demo-enrol-{WALK_IN_CARD}", fingerprint("demo", b"walk-in")
    )
    terminals = [await services.pos.authenticate(spec.terminal_key) for spec in OUTLETS]
    now = datetime.now(UTC)
    # Each past sale is recorded at its own moment, as if made then: reports count a sale when the server recorded
    # it, and a till may not date a sale more than a few days back (issue 12, hole 5).
    then = _Then(now)
    history = PosService(
        services.store.unit_of_work,
        then,
        rules_in_force=services.rules.in_force_for,
        answer_json=services.pos.answer_json,
    )
    last_id = ""
    for number, (days, minutes, outlet, amount, redeem) in enumerate(SALES, start=1):
        receipt = f"demo-sale-{number}"
        then.moment = _sale_moment(now, days, minutes)
        bought = await history.purchase(
            terminals[outlet],
            PurchaseInput(
                WALK_IN_CARD,
                amount=amount,
                receipt=receipt,
                cashier=OUTLETS[outlet].cashier_login,
                redeem_points=redeem or None,
            ),
            receipt,
            fingerprint("demo", receipt.encode()),
        )
        if outlet == 1:
            last_id = str(bought.body["id"])
    refund = RefundInput(amount="100.00")
    await services.pos.refund(terminals[1], last_id, refund, "demo-refund-1", fingerprint("demo", b"refund-1"))


async def live_demo_keys(services: Services) -> list[str]:
    """The demo's published keys that still open this database (none once they were rotated or it has no demo)."""
    live = []
    for key, check in [
        (DEMO_ADMIN_KEY, services.admin.authenticate),
        *((spec.terminal_key, services.pos.authenticate) for spec in OUTLETS),
        *((device.key, services.pos.authenticate) for device in DEVICES),
    ]:
        try:
            await check(key)
        except Unauthorized:
            continue
        live.append(key)
    return live


class _Then:
    """The clock of the demo's past sales: set to each sale's moment."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


async def describe_demo(services: Services) -> dict[str, Any]:
    """The demo's URL, terminal keys, cashier logins and members, as `coalition demo --json` prints them."""
    listing = await services.admin.listing(await services.admin.network(DEMO_CODE))
    # by its terminal, not its published key: the demo still describes itself once its keys were rotated
    shop_terminal = next(t["id"] for t in listing["terminals"] if t["name"] == f"{OUTLETS[0].outlet} POS")
    shop = await services.pos.terminal(shop_terminal)
    live = await live_demo_keys(services)
    outlet_numbers = {outlet["name"]: outlet["id"] for outlet in listing["outlets"]}
    members = []
    cards = [(member.card, member.phone, member.name, member.pin) for member in MEMBERS]
    for card, phone, name, pin in [*cards, (WALK_IN_CARD, None, None, None)]:
        summary = await services.pos.member_summary(shop, card)
        members.append(
            {
                "identifier": card,
                "phone": phone,
                "name": name,
                "points_balance": summary.points_balance,
                "lifetime_spend": format_minor(summary.lifetime_spend_minor, summary.currency),
                "pin": pin,
            }
        )
    return {
        "url": services.settings.public_url,
        "network": DEMO_CODE,
        "admin_key": DEMO_ADMIN_KEY,
        "admin_key_works": DEMO_ADMIN_KEY in live,
        "terminals": [
            {"outlet": o.outlet, "partner": o.partner, "key": o.terminal_key, "works": o.terminal_key in live}
            for o in OUTLETS
        ],
        "devices": [
            {
                "device": d.name,
                "kind": d.kind,
                "key": d.key,
                "works": d.key in live,
                "outlet_number": outlet_numbers.get(d.name),
            }
            for d in DEVICES
        ],
        "cashiers": [
            {
                "outlet_number": outlet_numbers.get(o.outlet),
                "outlet": o.outlet,
                "login": o.cashier_login,
                "password": o.cashier_password,
            }
            for o in OUTLETS
        ],
        "console": {
            "url": f"{services.settings.public_url}/console",
            "logins": [{"role": "administrator", "login": DEMO_ADMIN_LOGIN, "password": DEMO_ADMIN_PASSWORD}]
            + [
                {"role": f"owner of {o.partner}", "login": o.owner_login, "password": o.owner_password} for o in OUTLETS
            ],
        },
        "members": members,
        "member_page": f"{services.settings.public_url}/me",
    }
