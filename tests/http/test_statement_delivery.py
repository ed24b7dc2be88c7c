"""Statements as PDF and by e-mail to each partner, through a real SMTP server (aiosmtpd) (issue 4, point 7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import anyio
import pytest
from typer.testing import CliRunner

from coalition.adapters.cli.main import app as cli
from coalition.wiring import build_services
from tests.http.water_park import DAY_END, DAY_START, Clock, buy, water_park
from tests.mail_support import smtp
from tests.support import assert_problem, auth, client, enrol

pytestmark = pytest.mark.anyio
__all__ = ["smtp"]  # the fixture, imported for pytest to find


async def test_each_partner_gets_its_statement_by_email_with_csv_and_pdf(settings, smtp, tmp_path):
    inbox, port = smtp
    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, mail_from="settlement@park.example")
    clock = Clock()
    services = build_services(mailing, clock=clock)
    try:
        admin_key, keys, partner_ids = await water_park(services)
        async with client(services) as http:
            for name, address in (("Tickets", "tickets@park.example"), ("Cafe", "cafe@park.example")):
                stored = await http.put(
                    f"/v1/admin/partners/{partner_ids[name]}/email", json={"email": address}, headers=auth(admin_key)
                )
                assert stored.status_code == 200, stored.text
            bad = await http.put(
                f"/v1/admin/partners/{partner_ids['Photo']}/email",
                json={"email": "not-an-address"},
                headers=auth(admin_key),
            )
            assert_problem(bad, 422, "invalid-input", "email")

            clock.moment = DAY_START + timedelta(hours=1)
            await enrol(http, keys["Tickets"], "6600-0001")
            await buy(http, keys["Tickets"], "6600-0001", "2000.00")
            await buy(http, keys["Cafe"], "6600-0001", "600.00", redeem=150)
            clock.moment = DAY_END + timedelta(hours=1)
            closed = await http.post(
                "/v1/admin/settlement/periods",
                json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
                headers=auth(admin_key),
            )
            assert closed.status_code == 201, closed.text

            pdf = await http.get("/v1/admin/settlement/statements/1?format=pdf", headers=auth(admin_key))
            assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

            sent = await http.post("/v1/admin/settlement/statements/1/send", headers=auth(admin_key))
            assert sent.status_code == 200, sent.text
            assert sent.json() == {"statement": 1, "sent": ["Cafe", "Tickets"], "without_address": ["Arcade", "Photo"]}

        by_recipient = {message["To"]: message for message in inbox.messages}
        assert set(by_recipient) == {"tickets@park.example", "cafe@park.example"}
        tickets = by_recipient["tickets@park.example"]
        assert tickets["From"] == "settlement@park.example"
        assert tickets["Subject"] == "Settlement statement 1: Tickets, 2026-07-01"
        assert "Net: -200.00 RUB (you pay the settlement node 200.00 RUB)" in tickets.get_body(("plain",)).get_content()
        attachments = {part.get_filename(): part.get_content() for part in tickets.iter_attachments()}
        assert set(attachments) == {"statement-1-entries.csv", "statement-1.csv", "statement-1.pdf"}
        assert attachments["statement-1-entries.csv"].splitlines()[1].endswith(",-200.00")
        assert "Tickets,200.00,0.00,0.00,0.00,0.00,0.00,-200.00,1" in attachments["statement-1.csv"]
        assert attachments["statement-1.pdf"].startswith(b"%PDF")
        cafe_text = by_recipient["cafe@park.example"].get_body(("plain",)).get_content()
        assert "Net: 105.00 RUB (the settlement node pays you 105.00 RUB)" in cafe_text  # 150.00 − 45.00

        target = tmp_path / "statement.pdf"
        arguments = ["settle", "show", "park", "1", "--format", "pdf", "--output", str(target)]
        arguments += ["--database-url", settings.database_url]
        shown = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli, arguments))
        assert shown.exit_code == 0, shown.output
        assert target.read_bytes().startswith(b"%PDF")
    finally:
        await services.close()


async def test_sending_without_smtp_says_how_to_turn_it_on(settings):
    clock = Clock()
    services = build_services(settings, clock=clock)
    try:
        admin_key, _, _ = await water_park(services)
        clock.moment = DAY_END + timedelta(hours=1)
        async with client(services) as http:
            await http.post(
                "/v1/admin/settlement/periods",
                json={"start": DAY_START.isoformat(), "end": DAY_END.isoformat()},
                headers=auth(admin_key),
            )
            refused = await http.post("/v1/admin/settlement/statements/1/send", headers=auth(admin_key))
            assert "COALITION_SMTP_HOST" in assert_problem(refused, 409, "conflict", "smtp")["detail"]
    finally:
        await services.close()
