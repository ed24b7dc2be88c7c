"""The client's file methods against a real `coalition serve`, on both engines: a members file imported, purchases
and refunds imported at a till of the network, the balances exported to a file and read back to the point, the
members file and the transactions streamed to a file object, and a bad file refused with its row and column typed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from coalition_client import AsyncClient, Client, FileRefused, InvalidInput, Retries
from coalition_client.admin_models import ExportFormat, ExportScope, FileError, ImportOptions, Outlet, Partner, Terminal

from .conftest import Demo, Proxy

MEMBERS = (
    "card_number,name,phone,consent_data_processing,points_balance\n"
    "7000-0001,Anna Files,+7 999 700-00-01,yes,100\n"
    "7000-0002,Boris Files,,yes,250\n"
    "7000-0003,,,,0\n"
)
TOMORROW = datetime.now(UTC).date() + timedelta(days=1)  # the balances at the end of it hold everything of today


def _when(hours_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def _terminal(admin: Client) -> int:
    partner = admin.create_partner(Partner(name="Files Kiosk"))
    outlet = admin.create_outlet(Outlet(partner_id=partner["id"], name="Files Kiosk till"))
    return int(admin.create_terminal(Terminal(outlet_id=outlet["id"], name="offline till"))["id"])


def _balances(text: str) -> dict[str, tuple[int, int]]:
    return {row["name"]: (int(row["points"]), int(row["wallet"])) for row in csv.DictReader(io.StringIO(text))}


def test_an_administrator_imports_members_purchases_and_refunds_and_exports_the_balances(
    demo: Demo, tmp_path: Path
) -> None:
    with Client(demo.url, demo.admin_key) as admin:
        members = admin.import_members(MEMBERS.encode(), filename="members.csv")
        assert (members.rows_read, members.created, members.unchanged, members.rejected) == (3, 3, 0, 0)
        assert (members.opening_points, members.opening_transactions, members.replayed) == (350, 2, False)
        assert members.errors == [] and members.rejects is None
        path = tmp_path / "members.csv"
        path.write_text(MEMBERS)
        assert admin.import_members(path).replayed  # the same file again, from a path: nothing written

        terminal = _terminal(admin)
        sales = (
            "receipt,occurred_at,terminal,customer,amount,redeem_points\n"
            f"P-1,{_when(3)},{terminal},7000-0001,1000.00,\n"
            f"P-2,{_when(2)},{terminal},7000-0002,2000.00,\n"
        )
        bought = admin.import_purchases(sales.encode(), filename="sales.csv")
        # the demo program: 3 % of each check in points below 10,000.00 of lifetime spend
        assert (bought.recorded, bought.already_recorded, bought.rejected) == (2, 0, 0)
        assert (bought.amount_minor, bought.points_earned, bought.currency) == (300_000, 90, "RUB")
        refunds = f"receipt,occurred_at,terminal,original_receipt,amount\nB-1,{_when(1)},{terminal},P-1,500.00\n"
        refunded = admin.import_refunds(io.BytesIO(refunds.encode()), filename="refunds.csv")
        assert (refunded.recorded, refunded.amount_minor, refunded.points_clawed_back) == (1, 50_000, 15)

        saved = admin.export_balances(tmp_path / "balances.csv", TOMORROW)
        assert saved.filename.endswith(".csv") and saved.media_type == "text/csv"
        text = (tmp_path / "balances.csv").read_bytes().decode("utf-8-sig")
        assert saved.bytes_written == len((tmp_path / "balances.csv").read_bytes())
        balances = _balances(text)
        assert balances["Anna Files"] == (100 + 30 - 15, 0)
        assert balances["Boris Files"] == (250 + 60, 0)
        assert not list(tmp_path.glob("*.part"))

        out = io.BytesIO()
        admin.export_members(out)
        exported = out.getvalue().decode("utf-8-sig")
        assert "70000001,personal,Anna Files" in exported and exported.count("\n") >= 4

        ledger = io.BytesIO()
        today = datetime.now(UTC).date()
        admin.export_transactions(
            ledger, today - timedelta(days=1), TOMORROW, output=ExportFormat(delimiter="semicolon")
        )
        rows = list(csv.DictReader(io.StringIO(ledger.getvalue().decode("utf-8-sig")), delimiter=";"))
        assert {"opening", "purchase", "refund"} <= {row["kind"] for row in rows}
        assert sum(int(row["amount"]) for row in rows if row["unit"] == "points") == 0  # each transaction balances


def test_a_bad_file_raises_the_typed_refusal_naming_row_and_column_and_partial_takes_the_rest(
    demo: Demo, tmp_path: Path
) -> None:
    bad = "card_number,points_balance\n7100-0001,10\n7100-0002,ten\n"  # as docs/client.md shows it
    with Client(demo.url, demo.admin_key) as admin:
        with pytest.raises(FileRefused) as refused:
            admin.import_members(bad.encode(), filename="bad.csv")
        error = refused.value
        assert (error.status, error.code, error.field) == (422, "file-refused", "points_balance")
        assert error.file_error_count == 1
        assert [(e.row, e.column) for e in error.file_errors] == [(3, "points_balance")]
        assert isinstance(error.file_errors[0], FileError) and "ten" in error.file_errors[0].reason

        taken = admin.import_members(bad.encode(), ImportOptions(partial=True), filename="bad.csv")
        assert (taken.created, taken.rejected) == (1, 1)
        assert [(e.row, e.column) for e in taken.errors] == [(3, "points_balance")]
        assert taken.rejects is not None and b"7100-0002" in taken.rejects.content()

        with pytest.raises(InvalidInput) as nothing:
            admin.export_report("nothing", tmp_path / "nothing.csv", date(2026, 1, 1))
        assert (nothing.value.status, nothing.value.field) == (422, "what")
        # refused before the first byte: no file, not even a half one
        assert not (tmp_path / "nothing.csv").exists() and not (tmp_path / "nothing.csv.part").exists()


@pytest.mark.anyio
async def test_the_async_client_imports_and_streams_the_same_files(demo: Demo, tmp_path: Path) -> None:
    async with AsyncClient(demo.url, demo.admin_key) as admin:
        path = tmp_path / "members.csv"
        path.write_text(MEMBERS)
        members = await admin.import_members(path)
        assert (members.created, members.opening_points) == (3, 350)
        bad = "receipt,occurred_at,terminal,customer,amount\nX-1,yesterday,1,7000-0001,10.00\n"
        with pytest.raises(FileRefused) as refused:
            await admin.import_purchases(bad.encode(), filename="sales.csv")
        assert [(e.row, e.column) for e in refused.value.file_errors][:1] == [(2, "occurred_at")]
        saved = await admin.export_balances(tmp_path / "balances.xlsx", TOMORROW, output=ExportFormat(format="xlsx"))
        assert saved.media_type.endswith("spreadsheetml.sheet") and (tmp_path / "balances.xlsx").stat().st_size > 0
        out = io.BytesIO()
        await admin.export_balances(out, TOMORROW, scope=ExportScope(member=None))
        assert _balances(out.getvalue().decode("utf-8-sig"))["Anna Files"] == (100, 0)


def test_a_lost_import_answer_is_retried_into_the_first_result_and_an_export_past_a_503(
    proxy: Proxy, demo: Demo, tmp_path: Path
) -> None:
    with Client(demo.url, demo.admin_key) as direct:
        terminal = _terminal(direct)
        direct.import_members(MEMBERS.encode(), filename="members.csv")
    sales = f"receipt,occurred_at,terminal,customer,amount\nL-1,{_when(2)},{terminal},7000-0001,1000.00\n"
    proxy.plan[("POST", "/v1/admin/imports/purchases")] = ["lose"]  # recorded, then the answer lost
    proxy.plan[("GET", "/v1/admin/exports/balances")] = ["503"]
    with Client(proxy.url, demo.admin_key, retries=Retries(base_seconds=0.01)) as admin:
        bought = admin.import_purchases(io.BytesIO(sales.encode()), filename="sales.csv")
        assert (bought.replayed, bought.recorded, bought.points_earned) == (True, 1, 30)  # the first result
        admin.export_balances(tmp_path / "balances.csv", TOMORROW)
    posts = [seen for seen in proxy.seen if seen[0] == "POST"]
    assert len(posts) == 2 and len([s for s in proxy.seen if s[1] == "/v1/admin/exports/balances"]) == 2
    balances = _balances((tmp_path / "balances.csv").read_bytes().decode("utf-8-sig"))
    assert balances["Anna Files"] == (130, 0)  # 100 opening + 30, the purchase recorded once
