"""A refund's stated time against its purchase's: a till's clock in whole seconds (the web terminal's offline queue)
dates a refund made at once in the purchase's own second, which is not "before" it."""

from datetime import UTC, datetime, timedelta

import pytest

from coalition.application.refunds import refund_moment
from coalition.domain.errors import InvalidInput

SOLD_AT = datetime(2026, 12, 7, 10, 0, 0, 700_000, tzinfo=UTC)


def test_a_refund_after_its_purchase_keeps_its_own_time() -> None:
    later = SOLD_AT + timedelta(seconds=3)
    assert refund_moment(later, SOLD_AT) == later
    assert refund_moment(SOLD_AT, SOLD_AT) == SOLD_AT


def test_a_refund_stated_in_whole_seconds_in_its_purchases_second_counts_at_the_purchase() -> None:
    stated = SOLD_AT.replace(microsecond=0)  # 10:00:00, the sale at 10:00:00.700
    assert refund_moment(stated, SOLD_AT) == SOLD_AT


@pytest.mark.parametrize("earlier", [timedelta(microseconds=700_001), timedelta(seconds=1), timedelta(hours=2)])
def test_a_refund_before_its_purchases_second_is_refused_naming_occurred_at(earlier: timedelta) -> None:
    with pytest.raises(InvalidInput) as refused:
        refund_moment(SOLD_AT - earlier, SOLD_AT)
    assert refused.value.field == "occurred_at"
    assert str(refused.value) == "a refund cannot be dated before its purchase"
