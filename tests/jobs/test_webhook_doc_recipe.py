"""docs/webhooks.md's verification recipe, run exactly as written against a real delivery (issue 16): it accepts the
delivery with the subscription's secret, refuses a wrong secret or a changed body, and after a rotation accepts both
the new and the old secret. Both engines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from coalition.adapters.jobs.outbox_loop import HttpxPoster, http_client
from coalition.application.webhooks import NewSubscription
from tests.support import buy, client, enrol, make_network
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.anyio
DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _recipe() -> Any:
    """The doc's Python block under "Verifying a delivery", executed: its `verify_webhook`."""
    section = DOC.read_text(encoding="utf-8").split("## Verifying a delivery", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "docs/webhooks.md has no Python recipe"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)
    return namespace["verify_webhook"]


async def test_the_documented_recipe_verifies_a_real_delivery(services) -> None:
    verify_webhook = _recipe()
    network = await make_network(services)
    with receiver() as endpoint:
        made = await services.webhooks.create(network.ref, NewSubscription(endpoint.url, ("purchase.recorded",)))
        async with client(services) as http, http_client(5.0) as http_out:
            outbox = services.outbox(HttpxPoster(http_out))
            await enrol(http, network.shop_key, "7400-0001")
            assert (await buy(http, network.shop_key, "7400-0001", "100.00")).status_code == 201
            assert await outbox.run_once("doc") == 1
            rotated = await services.webhooks.rotate_secret(network.ref, made.id)  # signed at delivery: with both
            assert (await buy(http, network.shop_key, "7400-0001", "200.00")).status_code == 201
            assert await outbox.run_once("doc") == 1
        first, second = endpoint.requests
    assert verify_webhook(made.secret, first.headers, first.body)
    assert not verify_webhook("whsec_not_it", first.headers, first.body)
    assert not verify_webhook(made.secret, first.headers, first.body.replace(b"100", b"900"))
    # after the rotation both secrets sign, for 24 h
    assert verify_webhook(rotated.secret, second.headers, second.body)
    assert verify_webhook(made.secret, second.headers, second.body)
    assert not verify_webhook(rotated.secret, first.headers, first.body)
