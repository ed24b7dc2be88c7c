"""An import's reading options (encoding, delimiter) belong to what it is (issue 17, review), on both engines: the
same file under the same Idempotency-Key with another option is a 422 `idempotency-key-reused`; without a key the
same file with another option is read afresh, not answered as the first upload; and a partial import's rejected
rows come back in the upload's encoding and delimiter (docs/files.md)."""

from __future__ import annotations

import base64
import codecs
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coalition.application.file_exchange.reading import import_key, read_table
from coalition.wiring import Services
from tests.support import assert_problem, auth, client, enrol, make_network, new_key

pytestmark = pytest.mark.anyio

MEMBERS = "card_number;name;consent_data_processing;points_balance\n8200-0001;Анна;yes;10\n8200-0002;Борис;yes;ten\n"


async def _upload(http: httpx.AsyncClient, key: str, path: str, data: bytes, name: str, **form: str) -> httpx.Response:
    idempotency = form.pop("idempotency_key", None)
    return await http.post(path, files={"file": (name, data)}, data=form, headers=auth(key, idempotency))


def test_the_import_key_is_the_files_digest_with_the_options_declared() -> None:
    data = b"card_number\n1\n"
    assert import_key(data, None, None) == import_key(data, "", "")  # a file imported before options counted
    assert import_key(data, "UTF-8", "semicolon") == import_key(data, "utf-8", ";")
    assert len({import_key(data, None, None), import_key(data, "cp1251", None), import_key(data, None, ";")}) == 3


async def test_the_same_key_with_another_encoding_or_delimiter_is_refused(services: Services) -> None:
    net = await make_network(services)
    data = MEMBERS.encode("cp1251")
    async with client(services) as http:
        key = new_key()
        path = "/v1/admin/imports/members"
        first = await _upload(
            http, net.admin_key, path, data, "m.csv", encoding="cp1251", partial="true", idempotency_key=key
        )
        assert first.status_code == 200, first.text
        again = await _upload(
            http, net.admin_key, path, data, "m.csv", encoding="cp1251", partial="true", idempotency_key=key
        )
        assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
        for form in ({"encoding": "cp1252"}, {"encoding": "cp1251", "delimiter": "comma"}):
            misuse = await _upload(
                http, net.admin_key, path, data, "m.csv", partial="true", idempotency_key=key, **form
            )
            assert_problem(misuse, 422, "idempotency-key-reused", "Idempotency-Key")


async def test_without_a_key_the_same_file_with_another_option_is_read_afresh(services: Services) -> None:
    net = await make_network(services)
    data = "card_number;name;consent_data_processing;points_balance\n8300-0001;Вера;yes;10\n".encode("cp1251")
    async with client(services) as http:
        path = "/v1/admin/imports/members"
        first = await _upload(http, net.admin_key, path, data, "m.csv", encoding="cp1251")
        assert first.status_code == 200, first.text
        assert (first.json()["created"], first.json()["replayed"], first.json()["encoding"]) == (1, False, "cp1251")
        same = await _upload(http, net.admin_key, path, data, "m.csv", encoding="CP1251")
        assert same.json()["replayed"] is True  # the same options (canonical names): the first import's answer
        other = await _upload(http, net.admin_key, path, data, "m.csv", encoding="cp1252")
        assert other.status_code == 200, other.text
        answer = other.json()
        assert (answer["replayed"], answer["encoding"], answer["created"], answer["unchanged"]) == (
            False,
            "cp1252",
            0,
            1,
        )
        bad = await _upload(http, net.admin_key, path, data, "m.csv", encoding="koi8-r")
        assert_problem(bad, 422, "file-refused", "encoding")
        bad_delimiter = await _upload(http, net.admin_key, path, data, "m.csv", delimiter="|")
        assert_problem(bad_delimiter, 422, "file-refused", "delimiter")


async def test_the_rejected_rows_come_back_in_the_uploads_encoding_and_delimiter(services: Services) -> None:
    net = await make_network(services)
    async with client(services) as http:
        path = "/v1/admin/imports/members"
        answer = await _upload(http, net.admin_key, path, MEMBERS.encode("cp1251"), "m.csv", partial="true")
        assert answer.status_code == 200, answer.text
        assert (answer.json()["encoding"], answer.json()["delimiter"], answer.json()["rejected"]) == ("cp1251", ";", 1)
        rejects = answer.json()["rejects"]
        assert rejects["media_type"] == "text/csv; charset=cp1251"
        data = base64.b64decode(rejects["content_base64"])
        assert not data.startswith(codecs.BOM_UTF8)
        text = data.decode("cp1251")
        assert text.splitlines()[0] == "card_number;name;consent_data_processing;points_balance;error"
        assert text.splitlines()[1].startswith("8200-0002;Борис;yes;ten;points_balance: ")
        table = read_table(data)  # the reader takes it back, detecting both
        assert (table.encoding, table.delimiter, table.rows[0].cells[1]) == ("cp1251", ";", "Борис")

        plain = b"card_number,points_balance\n8400-0001,5\n8400-0002,x\n"  # UTF-8 without a BOM: none back
        unmarked = await _upload(http, net.admin_key, path, plain, "p.csv", partial="true")
        data = base64.b64decode(unmarked.json()["rejects"]["content_base64"])
        assert data.decode("utf-8").startswith("card_number,points_balance,error\n")
        marked = await _upload(
            http, net.admin_key, path, codecs.BOM_UTF8 + plain.replace(b"84", b"85"), "q.csv", partial="true"
        )
        assert base64.b64decode(marked.json()["rejects"]["content_base64"]).startswith(codecs.BOM_UTF8)

        await enrol(http, net.shop_key, "5001")
        shop = (await services.pos.authenticate(net.shop_key)).terminal_id
        when = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat()
        sales = (
            "receipt\toccurred_at\tterminal\tcustomer\tamount\tredeem_points\n"
            f"Ч-1\t{when}\t{shop}\t5001\t100.00\t0\n"
            f"Ч-2\t{when}\t{shop}\t5001\tсто\t0\n"
        ).encode("cp866")
        recorded = await _upload(
            http, net.admin_key, "/v1/admin/imports/purchases", sales, "s.csv", encoding="cp866", partial="true"
        )
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["rejects"]["media_type"] == "text/csv; charset=cp866"
        text = base64.b64decode(recorded.json()["rejects"]["content_base64"]).decode("cp866")
        assert text.splitlines()[1].startswith("Ч-2\t") and "\tсто\t" in text
