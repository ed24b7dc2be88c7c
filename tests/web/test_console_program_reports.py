"""The program's reports on the console's Reports page, both engines: the figures of purchases made through the API,
the threshold helper's answer in words, its bad input refused beside the field, a download per section."""

from __future__ import annotations

import pytest

from coalition.wiring import Services
from tests.http.test_exports import _day, services
from tests.support import client
from tests.web.support import sign_in_console

pytestmark = pytest.mark.anyio
__all__ = ["services"]  # the fixture on the test clock


async def test_the_owner_reads_the_program_reports_and_works_out_a_threshold(services: Services) -> None:
    net, ids = await _day(services)  # the Shop: 1000.00 on 10 March (10:00), 300.00 on 11 March (10:00)
    web = services.web_sessions
    await web.add_console_user(net.ref.id, "owner", ids["shop"], "shop-owner", "Shop owner", "shop-secret-1")
    async with client(services) as http:
        assert (await sign_in_console(http, "shop", "shop-owner", "shop-secret-1")).status_code == 303
        page = await http.get("/console/reports?from=2026-03-10&to=2026-03-11", headers={"Accept-Language": "en-GB"})
        assert page.status_code == 200
        text = page.text
        assert '<th scope="row">10:00</th>' in text and '<th scope="row">11:00</th>' not in text  # the Cafe's hour
        assert '<th scope="row">Tuesday</th>' in text and '<th scope="row">Monday</th>' not in text
        assert 'id="new-customers">2 · 2 checks · RUB\xa01,300.00<' in text  # Anna and Boris bought first here
        assert 'id="returning-customers">0 · 0 checks · RUB\xa00.00<' in text
        assert 'id="repeat-rate">0%' in text or 'id="repeat-rate">0 %' in text
        for name in ("attendance", "customers", "effectiveness"):
            assert f"/console/exports/{name}?from=2026-03-10&amp;to=2026-03-11&amp;format=csv" in text
        asked = "/console/reports?from=2026-03-11&to=2026-03-11&threshold=1000.00&base_from=2026-03-10"
        helper = await http.get(asked, headers={"Accept-Language": "en-GB"})
        assert helper.status_code == 200
        assert (
            "The average check went from RUB\xa01,000.00 (Mar 10, 2026 – Mar 10, 2026) to RUB\xa0300.00 "
            "(Mar 11, 2026 – Mar 11, 2026), −70%. The entry threshold of RUB\xa01,000.00 becomes RUB\xa0300.00"
        ) in helper.text.replace("-70", "−70")
        download = await http.get(
            "/console/exports/threshold?from=2026-03-11&to=2026-03-11&threshold=100000&base_from=2026-03-10"
        )
        assert download.status_code == 200
        assert "100000,2026-03-10,2026-03-10,1,100000,2026-03-11,2026-03-11,1,30000,30000,-7000" in download.text
        bad = await http.get("/console/reports?from=2026-03-11&threshold=lots&base_from=2026-03-10")
        assert bad.status_code == 422 and 'id="threshold-error"' in bad.text
        assert 'name="threshold" inputmode="decimal" value="lots" aria-invalid="true"' in bad.text
