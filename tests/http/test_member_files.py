"""Members imported from CSV and XLSX files and exported as the same file (issue 17), over the admin API on both
engines: every bad input refused with its row and column and nothing written, partial mode with a rejects file,
the same file twice, and an export imported into an empty network giving the same members and balances."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from coalition.adapters.storage.verify import verify
from coalition.application.file_exchange.reading import read_table
from coalition.application.member_import import ImportOptions
from coalition.wiring import Services, build_services
from tests.support import assert_problem, auth, balance_of, buy, client, enrol, ledger_balance, make_network

pytestmark = pytest.mark.anyio

GOOD = (
    "card_number,name,phone,email,birth_date,consent_data_processing,consent_newsletters,tier,segments,points_balance\n"
    '7001,Anna Smirnova,+7 999 100-00-01,anna@example.com,1990-04-21,yes,no,gold,"vip,staff",100\n'
    "7002,Boris Orlov,+79991000002,,1985-12-01,yes,yes,,,250\n"
    "7003,,,,,,,,,0\n"
)


async def _import(http: httpx.AsyncClient, key: str, data: bytes, name: str = "members.csv", **form: str):
    return await http.post("/v1/admin/imports/members", files={"file": (name, data)}, data=form, headers=auth(key))


async def _count(services: Services, table: str) -> int:
    async with services.engine.connect() as connection:
        return int((await connection.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())


async def _opening_transactions(services: Services) -> list[tuple[str, int]]:
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT t.kind, p.amount FROM ledger_transactions t JOIN postings p ON p.tx_id = t.id "
                "JOIN member_balances b ON b.account_id = p.account_id WHERE t.kind = 'opening' ORDER BY t.id"
            )
        )
        return [(str(row[0]), int(row[1])) for row in rows]


async def test_a_valid_file_creates_members_with_opening_balances(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        response = await _import(http, net.admin_key, GOOD.encode())
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["rows_read"], result["created"], result["unchanged"], result["rejected"]) == (3, 3, 0, 0)
        assert (result["opening_points"], result["opening_transactions"]) == (350, 2)
        assert await balance_of(http, net.shop_key, "7001") == 100
        assert await balance_of(http, net.shop_key, "+79991000001") == 100  # the phone identifies her
        assert await balance_of(http, net.shop_key, "7002") == 250
        assert await balance_of(http, net.shop_key, "7003") == 0
        assert await ledger_balance(services, "7002") == 250
        assert await _opening_transactions(services) == [("opening", 100), ("opening", 250)]
        # the same file a second time: the first answer, nothing written
        again = await _import(http, net.admin_key, GOOD.encode())
        assert again.status_code == 200 and again.json()["replayed"] is True
        assert again.json()["created"] == 3
        assert await _count(services, "members") == 3
        assert await _opening_transactions(services) == [("opening", 100), ("opening", 250)]
        # the same members in another file: unchanged, never created twice
        other = await _import(http, net.admin_key, GOOD.replace("7003,,", "7004,,").encode())
        assert (other.json()["created"], other.json()["unchanged"]) == (1, 2)
        assert await balance_of(http, net.shop_key, "7001") == 100
    assert await _count(services, "members") == 4
    assert not (await verify(services.engine))
    async with services.engine.connect() as connection:
        actions = (await connection.execute(text("SELECT action FROM audit_entries"))).scalars().all()
    assert list(actions).count("members.import") == 2


BAD_CASES: list[tuple[str, bytes, dict[str, str], int, str, str]] = [
    # (what, file, form, row, column, words of the reason)
    ("bad row", b"card_number,birth_date\n1,1990-02-30\n", {}, 2, "birth_date", "expected a date"),
    ("formula", b'card_number,name\n1,=HYPERLINK("http://x")\n', {}, 2, "name", "formula"),
    ("unknown column", b"card_number,colour\n1,red\n", {}, 1, "colour", "unknown column"),
    ("missing column", b"name\nAnna\n", {}, 1, "card_number", "required column is missing"),
    ("duplicate card", b"card_number\n55\n56\n5 5\n", {}, 4, "card_number", "same key as row 2"),
    ("another network", b"card_number,network\n1,999999\n", {}, 2, "network", "for network 999999"),
    ("no consent", b"card_number,name\n1,Anna\n", {}, 2, "consent_data_processing", "consent"),
    ("wrong delimiter", b"card_number;name\n1;Anna\n", {"delimiter": "comma"}, 1, "card_number;name", "unknown"),
    (
        "wrong encoding",
        "card_number,name\n1,Anna\n2,Пётр\n".encode("cp1251"),
        {"encoding": "utf-8"},
        3,
        "",
        "not utf-8",
    ),
    ("unknown encoding", b"card_number\n1\n", {"encoding": "koi8-r"}, 0, "encoding", "encoding is one of"),
    ("unknown delimiter", b"card_number\n1\n", {"delimiter": "pipe"}, 0, "delimiter", "a comma, a semicolon"),
    ("nul byte", b"card_number,name\n1,An\x00na\n", {}, 2, "name", "control characters"),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[case[0] for case in BAD_CASES])
async def test_a_bad_file_is_refused_naming_row_and_column_and_writes_nothing(
    services: Services, case: tuple[str, bytes, dict[str, str], int, str, str]
) -> None:
    _, data, form, row, column, words = case
    net = await make_network(services)
    async with client(services) as http:
        response = await _import(http, net.admin_key, data, **form)
    body = assert_problem(response, 422, "file-refused", column or "file")
    assert any(e["row"] == row and e["column"] == column and words in e["reason"] for e in body["file_errors"]), body
    assert await _count(services, "members") == 0
    assert await _count(services, "file_imports") == 0


async def test_every_error_of_a_file_comes_back_at_once(services: Services) -> None:
    net = await make_network(services)
    data = b"card_number,points_balance,email\n1,x,a@b.c\n2,5,not-mail\n3,7,\n"
    async with client(services) as http:
        body = assert_problem(await _import(http, net.admin_key, data), 422, "file-refused", "points_balance")
    assert [(e["row"], e["column"]) for e in body["file_errors"]] == [(2, "points_balance"), (3, "email")]


async def test_a_card_of_another_member_or_a_taken_phone_is_refused(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        await enrol(http, net.shop_key, "8001", phone="+79990000001")
        data = b"card_number,name,phone,consent_data_processing\n8002,Anna,+7 999 000-00-01,yes\n"
        body = assert_problem(await _import(http, net.admin_key, data), 422, "file-refused", "phone")
    assert body["file_errors"][0]["row"] == 2


async def test_a_semicolon_file_in_cp1251_is_read(services: Services) -> None:
    net = await make_network(services)
    data = "card_number;name;consent_data_processing;points_balance\n9001;Пётр Иванов;да;40\n".encode("cp1251")
    async with client(services) as http:
        result = (await _import(http, net.admin_key, data)).json()
        assert (result["encoding"], result["delimiter"], result["created"]) == ("cp1251", ";", 1)
        member = (await http.get("/v1/members/9001", headers=auth(net.shop_key))).json()
    assert member["points_balance"] == 40


async def test_an_xlsx_file_is_read(services: Services) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["card_number", "name", "consent_data_processing", "points_balance"])
    sheet.append([9101, "Olga", True, 75])
    buffer = io.BytesIO()
    workbook.save(buffer)
    net = await make_network(services)
    async with client(services) as http:
        result = (await _import(http, net.admin_key, buffer.getvalue(), "members.xlsx")).json()
        assert (result["format"], result["created"]) == ("xlsx", 1)
        assert await balance_of(http, net.shop_key, "9101") == 75


async def test_a_file_above_the_size_limit_is_a_413(settings: Any) -> None:
    small = build_services(replace(settings, import_max_bytes=1000))
    try:
        net = await make_network(small)
        async with client(small) as http:
            response = await _import(http, net.admin_key, b"card_number\n" + b"1234567\n" * 200)
        body = assert_problem(response, 413, "file-too-large", "file")
        assert "at most 1000" in body["detail"]
        assert await _count(small, "members") == 0
    finally:
        await small.close()


async def test_partial_mode_takes_the_valid_rows_and_answers_the_rejected_as_a_file(services: Services) -> None:
    net = await make_network(services)
    data = b"card_number,points_balance\n601,10\n602,ten\n603,30\n603,40\n"
    async with client(services) as http:
        response = await _import(http, net.admin_key, data, partial="true")
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["created"], result["rejected"]) == (2, 2)
        rejects = read_table(base64.b64decode(result["rejects"]["content_base64"]))
        assert rejects.header == ("card_number", "points_balance", "error")
        assert [row.cells[:2] for row in rejects.rows] == [("602", "ten"), ("603", "40")]
        assert "points_balance: expected a whole number" in rejects.rows[0].cells[2]
        assert await balance_of(http, net.shop_key, "603") == 30
        again = (await _import(http, net.admin_key, data, partial="true")).json()
        assert again["replayed"] and again["rejects"]["content_base64"] == result["rejects"]["content_base64"]
    assert await _count(services, "members") == 2


async def test_the_rejects_of_a_semicolon_file_are_written_with_semicolons(services: Services) -> None:
    """A spreadsheet in a Russian locale opens the uploaded file and its rejects alike (the rejects were written with
    commas whatever the upload's delimiter, so they opened as one column), and in the upload's encoding (cp1251)."""
    net = await make_network(services)
    data = "card_number;name;consent_data_processing;points_balance\n611;Пётр;да;10\n612;Анна, мл.;да;ten\n"
    async with client(services) as http:
        result = (await _import(http, net.admin_key, data.encode("cp1251"), partial="true")).json()
    content = base64.b64decode(result["rejects"]["content_base64"])
    assert result["rejects"]["media_type"] == "text/csv; charset=cp1251"
    assert content.decode("cp1251").splitlines() == [
        "card_number;name;consent_data_processing;points_balance;error",
        "612;Анна, мл.;да;ten;points_balance: expected a whole number, not 'ten'",
    ]
    assert read_table(content).rows[0].cells[:2] == ("612", "Анна, мл.")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
async def test_an_export_imported_into_an_empty_network_gives_the_same_members_and_balances(
    services: Services, file_format: str
) -> None:
    source = await make_network(services, "source")
    target = await make_network(services, "target")
    async with client(services) as http:
        assert (await _import(http, source.admin_key, GOOD.encode())).status_code == 200
        await enrol(http, source.shop_key, "7100", phone="+79995550000")
        await buy(http, source.shop_key, "7100", "1000.00")  # points earned at a till, not imported
        await buy(http, source.shop_key, "7001", "500.00")
        exported = await http.get(
            "/v1/admin/exports/members", params={"format": file_format}, headers=auth(source.admin_key)
        )
        assert exported.status_code == 200, exported.text
        assert f"members-source.{file_format}" in exported.headers["content-disposition"]
        answer = await _import(http, target.admin_key, exported.content, f"m.{file_format}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["created"] == 4
        again = await http.get(
            "/v1/admin/exports/members", params={"format": file_format}, headers=auth(target.admin_key)
        )
    before, after = read_table(exported.content), read_table(again.content)
    assert before.header == after.header
    assert sorted(r.cells for r in before.rows) == sorted(r.cells for r in after.rows)
    points = after.header.index("points_balance")
    balances = {row.cells[0]: row.cells[points] for row in after.rows}
    assert balances["7002"] == "250" and balances["7003"] == "0" and int(balances["7100"]) > 0
    assert int(balances["7001"]) > 100  # the purchase's points came along
    assert not (await verify(services.engine))


async def test_the_export_needs_the_admin_key_and_a_known_format(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        assert (await http.get("/v1/admin/exports/members")).status_code == 401
        bad = await http.get("/v1/admin/exports/members", params={"format": "pdf"}, headers=auth(net.admin_key))
        assert_problem(bad, 422, "invalid-input", "format")


async def test_a_file_of_many_members_is_written_in_chunks_and_balances(services: Services) -> None:
    net = await make_network(services)
    lines = ["card_number,phone,name,consent_data_processing,points_balance"]
    lines += [f"{600000 + i},+7999{i:07d},Member {i},yes,{i % 7 - 1}" for i in range(2500)]  # −1 … 5: debts too
    result = await services.member_import.run(net.ref.id, ("\n".join(lines) + "\n").encode(), ImportOptions("big.csv"))
    assert (result.created, result.opening_points) == (2500, sum(i % 7 - 1 for i in range(2500)))
    assert result.opening_transactions == sum(1 for i in range(2500) if i % 7 != 1)
    assert not (await verify(services.engine))
    async with client(services) as http:
        assert await balance_of(http, net.shop_key, "+79990002499") == 2499 % 7 - 1
        assert await balance_of(http, net.shop_key, "600007") == -1
    exported = read_table(await services.member_export.file(net.ref.id, result.file_format))
    assert len(exported.rows) == 2500
