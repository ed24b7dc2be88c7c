"""For the member page's tests: a member with a purchase, a gift and a visit (SMTP: tests/mail_support.py)."""

from __future__ import annotations

from typing import Any

import httpx

from coalition.demo import DEMO_ADMIN_KEY, OUTLETS
from tests.web.conftest import RULES_API_TIMEOUT_S

SHOP_KEY, CAFE_KEY, PARK_KEY = (outlet.terminal_key for outlet in OUTLETS)
# Over the demo network: points that expire in 30 days, and a coffee at the café for a check from 1,000.00 at the shop
RULES = {
    "rules": [
        {
            "code": "points",
            "effects": [
                {"accrue_percent": {"percent": "5", "expiry": {"days": 30}}},
                {"set_redemption": {"cap_percent": "50", "min_check": "0.00"}},
            ],
        },
        {
            "code": "shop-gives-coffee",
            "scope": {"partners": ["Corner Shop"]},
            "condition": "basket.total_minor >= 100000",
            "effects": [{"grant_gift": {"gift_type": "free-coffee", "valid_days": 7}}],
        },
    ]
}


def _call(http: httpx.Client, method: str, path: str, key: str, body: Any = None, status: int = 200) -> Any:
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"{method}-{path}-{len(str(body))}"}
    response = http.request(method, path, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def member_with_history(url: str, card: str, address: str) -> dict[str, Any]:
    """Through the JSON API of the demo server at `url`: a member with an e-mail address, a purchase of 2,480.00 at
    the shop (124 points that expire in 30 days, and a coffee to collect at the café), and a visit to the park."""
    with httpx.Client(base_url=url, timeout=RULES_API_TIMEOUT_S) as http:
        gift_type = {"code": "free-coffee", "name": "A free coffee", "price": "150.00", "valid_days": 7}
        _call(http, "POST", "/v1/admin/gift-types", DEMO_ADMIN_KEY, gift_type | {"partners": ["Blue Cup Café"]}, 201)
        _call(http, "PUT", "/v1/admin/rule-sets/draft", DEMO_ADMIN_KEY, RULES)
        _call(http, "POST", "/v1/admin/rule-sets/draft/publish", DEMO_ADMIN_KEY)
        profile = {"name": "Olga Orlova", "email": address, "consent_data_processing": True}
        _call(http, "POST", "/v1/members", SHOP_KEY, {"kind": "personal", "card_number": card, "profile": profile}, 201)
        sale = {"customer": card, "amount": "2480.00", "receipt": f"member-{card}"}
        purchase = _call(http, "POST", "/v1/purchases", SHOP_KEY, sale, 201)
        visit = _call(http, "POST", "/v1/visits", PARK_KEY, {"customer": card}, 201)
    return {"purchase": purchase, "visit": visit}
