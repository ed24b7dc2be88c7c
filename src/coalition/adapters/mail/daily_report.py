"""The owner's daily report as an e-mail's subject and plain text, in the partner's language: the same catalogs
(locales/<lang>/daily_report.json) and the same Babel formatting of money, dates and times as the web pages."""

from __future__ import annotations

from coalition.adapters.web import formatting
from coalition.adapters.web.anomaly_words import anomaly_sentence
from coalition.adapters.web.i18n import Translator
from coalition.application.daily_reports import DailyReportContent, DayTransaction, SilentDevice
from coalition.application.reports import Figures


class _Words:
    """The partner's language: messages translated and filled in, money and numbers formatted."""

    def __init__(self, content: DailyReportContent) -> None:
        self.translator = Translator.for_language(content.language)
        self.language, self.currency = content.language, content.currency

    def __call__(self, message: str, **values: object) -> str:
        text = self.translator.gettext(message)
        return text % values if values else text

    def money(self, amount_minor: int) -> str:
        return formatting.money(amount_minor, self.currency, self.language)

    def number(self, value: int) -> str:
        return formatting.number(value, self.language)


def write_daily_report(content: DailyReportContent) -> tuple[str, str]:
    """(subject, text): the day's totals, per outlet, per cashier, then every purchase and refund."""
    _ = _Words(content)
    report = content.report
    prepaid = report.total.has_prepaid  # a day without money on the card reads as it did before wallets
    cards = report.total.has_gift_cards  # and a day without gift-card money, as it did before gift cards
    devices = bool(report.total.device_charges)  # the charges devices took from wallets, on a day they took any
    day = formatting.day(content.day, content.language, "full")
    subject = _("Daily report %(day)s: %(partner)s", day=content.day.isoformat(), partner=content.partner)
    lines = [f"{content.partner}: {day}", *_worth_a_look(content, _)]
    lines += ["", _("Total"), *_figure_lines(report.total, _, prepaid, cards, devices)]
    for outlet, figures in report.by_outlet:
        lines += ["", _("Outlet %(outlet)s (%(zone)s)", outlet=outlet.name, zone=outlet.timezone)]
        lines += _figure_lines(figures, _, prepaid, cards, devices)
    lines += ["", _("Per cashier")]
    for line in report.by_cashier:
        who = f"{line.name} ({line.login})" if line.login else _("no cashier named")
        figures = line.figures
        text = "  " + _(
            "%(who)s, %(outlet)s: checks %(checks)s, revenue %(revenue)s, paid in money %(paid)s, "
            "refunds %(refunds)s for %(refunded)s",
            who=who,
            outlet=line.outlet.name,
            checks=_.number(figures.checks),
            revenue=_.money(figures.revenue_minor),
            paid=_.money(figures.collected_minor),
            refunds=_.number(figures.refunds),
            refunded=_.money(figures.refund_minor),
        )
        if cards:
            text += ", " + _(
                "by gift cards %(paid)s, gift cards sold %(sold)s",
                paid=_.money(figures.gift_card_paid_minor),
                sold=_.money(figures.gift_card_sold_minor),
            )
        if prepaid:
            text += ", " + _(
                "from wallets %(wallet)s, top-ups %(top_ups)s, cash in hand %(cash)s",
                wallet=_.money(figures.wallet_paid_minor),
                top_ups=_.money(figures.top_up_minor),
                cash=_.money(figures.cash_in_hand_minor),
            )
        lines.append(text)
    lines += ["", _("Purchases and refunds: %(count)s (the same in the attached CSV)", count=len(content.rows))]
    lines += [_row_text(row, _, content.language) for row in content.rows] or ["  " + _("none")]
    if cards:
        lines += [
            "",
            _(
                "The money taken at the tills should equal 'cash in hand': paid in money plus top-ups and gift cards "
                "sold less the money given back at the till. Wallet and gift-card money was paid before and is not "
                "in the tills."
            ),
        ]
    elif prepaid:
        lines += [
            "",
            _(
                "The money taken at the tills should equal 'cash in hand': paid in money plus top-ups less the "
                "money given back at the till. Wallet money was paid before and is not in the tills."
            ),
        ]
    else:
        lines += ["", _("The money taken at the tills should equal 'paid in money' less the money given back.")]
    if content.silent_devices:
        lines += ["", *_silent_lines(content.silent_devices, _, content.language)]
    return subject, "\n".join(lines) + "\n"


def _worth_a_look(content: DailyReportContent, _: _Words) -> list[str]:
    """The day's anomaly flags first, where the owner looks: each sentence, then the transactions behind it."""
    if not content.anomalies:
        return []
    lines = ["", _("Worth a look")]
    for flag in content.anomalies:
        lines.append("  " + anomaly_sentence(flag, content.currency, content.language))
        lines.append("    " + _("transactions: %(transactions)s", transactions=", ".join(flag.transactions)))
    return lines


def _minutes(seconds: int) -> int:
    return -(-seconds // 60)  # rounded up: "silent for longer than 1 minute" for 30 seconds would say too little


def _silent_lines(devices: tuple[SilentDevice, ...], _: _Words, language: str) -> list[str]:
    """The alert: each silent device, its last heartbeat (at its outlet's clock) and last error."""
    thresholds = {_minutes(device.silent_after_seconds) for device in devices}
    mixed = len(thresholds) > 1  # each device's own time beside it, then
    if mixed:
        lines = [_("Devices silent for longer than their silence time")]
    else:
        lines = [_("Devices silent for longer than %(minutes)s minutes", minutes=_.number(thresholds.pop()))]
    for device in devices:
        if device.last_heartbeat_at is None:
            text = _("%(device)s: no heartbeat yet", device=device.name)
        else:
            moment = formatting.moment(device.last_heartbeat_at, str(device.last_heartbeat_at.tzinfo), language)
            text = _("%(device)s: last heartbeat %(moment)s", device=device.name, moment=moment)
        if mixed:
            text += " " + _(
                "(silent after %(minutes)s minutes)", minutes=_.number(_minutes(device.silent_after_seconds))
            )
        if device.last_error:
            text += ", " + _("last error: %(error)s", error=device.last_error)
        lines.append("  " + text)
    return lines


def _figure_lines(figures: Figures, _: _Words, prepaid: bool, cards: bool, devices: bool = False) -> list[str]:
    """The day's figures; with money on the card, `_with_prepaid` adds what wallets paid and took back."""
    lines = [
        "  " + _("revenue through the system: %(revenue)s", revenue=_.money(figures.revenue_minor)),
        "  " + _("checks: %(checks)s", checks=_.number(figures.checks)),
        "  " + _("paid in money: %(paid)s", paid=_.money(figures.collected_minor)),
        "  " + _("average check: %(average)s", average=_.money(figures.average_check_minor)),
        "  " + _("points issued: %(issued)s", issued=_.number(figures.points_issued)),
        "  " + _("points spent: %(spent)s", spent=_.number(figures.points_spent)),
        "  " + _("discounts: %(discounts)s", discounts=_.money(figures.discount_minor)),
        "  "
        + _(
            "refunds: %(refunds)s for %(refunded)s",
            refunds=_.number(figures.refunds),
            refunded=_.money(figures.refund_minor),
        ),
    ]
    return _with_prepaid(lines, figures, _, cards, devices) if prepaid else lines


def _row_text(row: DayTransaction, _: _Words, language: str) -> str:
    values = {
        "time": formatting.clock_time(row.recorded_at, str(row.recorded_at.tzinfo), language),
        "outlet": row.outlet_name,
        "receipt": row.receipt,
        "cashier": row.cashier_login or "-",
        "check": _.money(row.check_minor),
        "money": _.money(row.money_minor),
        "earned": _.number(row.points_earned),
        "spent": _.number(row.points_spent),
    }
    if row.kind == "top_up":
        text = _("%(time)s wallet top-up, %(outlet)s, transaction %(receipt)s: taken %(money)s", **values)
        return "  " + text + _cashier_text(row, _)
    if row.kind == "gift_card_sale":
        text = _("%(time)s gift card sold, %(outlet)s, transaction %(receipt)s: taken %(money)s", **values)
        return "  " + text + _cashier_text(row, _)
    if row.kind == "refund":
        message = (
            "%(time)s refund, %(outlet)s, receipt %(receipt)s, cashier %(cashier)s: %(check)s of the check, "
            "money back %(money)s, points taken back %(earned)s, points returned %(spent)s"
        )
        wallet = "back into the wallet %(wallet)s"
        cards = "back onto gift cards %(cards)s"
    else:
        message = (
            "%(time)s purchase, %(outlet)s, receipt %(receipt)s, cashier %(cashier)s: check %(check)s, "
            "paid in money %(money)s, points earned %(earned)s, points spent %(spent)s"
        )
        wallet = "from the wallet %(wallet)s"
        cards = "by gift cards %(cards)s"
    text = "  " + _(message, **values)
    if row.wallet_minor:
        text += ", " + _(wallet, wallet=_.money(abs(row.wallet_minor)))
    if row.gift_card_minor:
        text += ", " + _(cards, cards=_.money(abs(row.gift_card_minor)))
    if row.till_time is not None:  # the till sent its own time: shown beside the server's, by which the day counts
        till = formatting.moment(row.till_time, str(row.till_time.tzinfo), language, "short")
        text += " " + _("(the till's time: %(till_time)s)", till_time=till)
    return text


def _cashier_text(row: DayTransaction, _: _Words) -> str:
    return ", " + _("cashier %(cashier)s", cashier=row.cashier_login) if row.cashier_login else ""


def _with_prepaid(lines: list[str], figures: Figures, _: _Words, cards: bool, devices: bool) -> list[str]:
    """The figures with money on the card: what the till took apart from what wallets (and gift cards, on a day they
    moved money) paid, and the cash in hand."""
    return [
        *lines[:3],  # revenue, checks, paid in money
        "  " + _("paid from wallets: %(wallet)s", wallet=_.money(figures.wallet_paid_minor)),
        *(_paid_by_cards(figures, _) if cards else []),
        *lines[3:],
        "  " + _("money back at the till: %(back)s", back=_.money(figures.money_back_minor)),
        "  " + _("refunded into wallets: %(wallet)s", wallet=_.money(figures.wallet_refunded_minor)),
        "  "
        + _(
            "wallet top-ups: %(count)s for %(amount)s",
            count=_.number(figures.top_ups),
            amount=_.money(figures.top_up_minor),
        ),
        *(_cards_taken(figures, _) if cards else []),
        *(_device_charges(figures, _) if devices else []),
        "  " + _("cash in hand: %(cash)s", cash=_.money(figures.cash_in_hand_minor)),
    ]


def _device_charges(figures: Figures, _: _Words) -> list[str]:
    """What devices took from wallets: the partner's takings, in no till."""
    return [
        "  "
        + _(
            "charged by devices from wallets: %(count)s for %(amount)s",
            count=_.number(figures.device_charges),
            amount=_.money(figures.device_charged_minor),
        )
    ]


def _paid_by_cards(figures: Figures, _: _Words) -> list[str]:
    return ["  " + _("paid by gift cards: %(cards)s", cards=_.money(figures.gift_card_paid_minor))]


def _cards_taken(figures: Figures, _: _Words) -> list[str]:
    return [
        "  " + _("refunded onto gift cards: %(cards)s", cards=_.money(figures.gift_card_refunded_minor)),
        "  "
        + _(
            "gift cards sold: %(count)s for %(amount)s",
            count=_.number(figures.gift_cards_sold),
            amount=_.money(figures.gift_card_sold_minor),
        ),
    ]
