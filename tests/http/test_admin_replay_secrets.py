"""An admin write's replay record keeps no secret readable (docs/api.md "Conventions"): the answer of a creation that
shows a secret once (a terminal key, a webhook secret...) is stored sealed under a key derived from the raw
Idempotency-Key, and the record holds only the SHA-256 of that key, so whoever reads the database (a backup, a
replica) reads no live credential. The retry that sends the key still replays the same answer."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, update

from coalition.adapters.storage import tables as t
from coalition.application.replay_sealing import UnreadableAnswer, open_sealed, seal
from tests.support import assert_problem, auth, client, make_network, new_key

pytestmark = pytest.mark.anyio


async def _stored_text(services) -> str:  # type: ignore[no-untyped-def]
    """Every column of every replay record, as one text."""
    async with services.engine.connect() as connection:
        rows = (await connection.execute(select(t.admin_idempotency_keys))).all()
    assert rows
    return "\n".join(repr(tuple(row)) for row in rows)


async def test_a_new_terminal_key_is_not_readable_in_the_replay_record_and_its_retry_answers_it(services):
    net = await make_network(services)
    async with client(services) as http:
        partner = await services.admin.create_partner(net.ref, "Kiosk")
        outlet = (await services.admin.create_outlet(net.ref, partner["id"], "Kiosk", "Europe/Moscow"))["id"]
        idempotency_key = new_key()
        body = {"outlet_id": outlet, "name": "POS 9"}
        created = await http.post("/v1/admin/terminals", json=body, headers=auth(net.admin_key, idempotency_key))
        assert created.status_code == 201, created.text
        secret = created.json()["key"]
        assert secret.startswith("term_")

        stored = await _stored_text(services)
        assert secret not in stored
        assert secret[len("term_") :] not in stored
        assert idempotency_key not in stored  # only its SHA-256
        assert hashlib.sha256(idempotency_key.encode()).hexdigest() in stored
        assert "POS 9" not in stored  # the whole answer is sealed, not only the secret

        again = await http.post("/v1/admin/terminals", json=body, headers=auth(net.admin_key, idempotency_key))
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == created.json()
        assert again.json()["key"] == secret


async def test_a_new_webhook_secret_is_not_readable_in_the_replay_record(services):
    net = await make_network(services)
    async with client(services) as http:
        idempotency_key = new_key()
        body = {"url": "https://hooks.example/coalition", "event_kinds": ["purchase.recorded"]}
        created = await http.post("/v1/admin/webhooks", json=body, headers=auth(net.admin_key, idempotency_key))
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert secret not in await _stored_text(services)
        again = await http.post("/v1/admin/webhooks", json=body, headers=auth(net.admin_key, idempotency_key))
        assert again.json()["secret"] == secret


async def test_a_record_that_does_not_open_is_a_409_naming_the_idempotency_key(services):
    net = await make_network(services)
    async with client(services) as http:
        idempotency_key = new_key()
        first = await http.post("/v1/admin/partners", json={"name": "A"}, headers=auth(net.admin_key, idempotency_key))
        assert first.status_code == 201, first.text
        async with services.engine.begin() as connection:
            await connection.execute(
                update(t.admin_idempotency_keys).values(response="v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            )
        again = await http.post("/v1/admin/partners", json={"name": "A"}, headers=auth(net.admin_key, idempotency_key))
        assert_problem(again, 409, "conflict", "Idempotency-Key")


def test_a_sealed_answer_opens_only_with_its_key_scope_and_request():
    sealed = seal('{"key":"term_x"}', idempotency_key="k", scope="s", request_hash="r")
    assert sealed.startswith("v1:") and "term_x" not in sealed
    assert sealed != seal('{"key":"term_x"}', idempotency_key="k", scope="s", request_hash="r")  # a fresh nonce
    assert open_sealed(sealed, idempotency_key="k", scope="s", request_hash="r") == '{"key":"term_x"}'
    for other in ({"idempotency_key": "K"}, {"scope": "t"}, {"request_hash": "q"}):
        with pytest.raises(UnreadableAnswer):
            open_sealed(sealed, **({"idempotency_key": "k", "scope": "s", "request_hash": "r"} | other))
    for broken in ('{"key":"term_x"}', "v1:not base64!", "v1:AAAA", sealed[:-4] + "AAAA"):
        with pytest.raises(UnreadableAnswer):
            open_sealed(broken, idempotency_key="k", scope="s", request_hash="r")
