"""A purchase decided in one pure step: the context read up front and the request in, the decision out.

`load` (application) reads a `CheckoutContext`; `decide` turns it and a `Sale` into a `Decision`; storage writes the
decision. The quote, the purchase, a batch's item and an offline upload all go through `decide`.
"""

from coalition.domain.checkout.context import CheckoutContext, Sale, Till
from coalition.domain.checkout.decision import CouponIssue, Decision, GiftGrant, decide, price
from coalition.domain.checkout.needs import gift_codes, needs_open_visit

__all__ = [
    "CheckoutContext",
    "CouponIssue",
    "Decision",
    "GiftGrant",
    "Sale",
    "Till",
    "decide",
    "gift_codes",
    "needs_open_visit",
    "price",
]
