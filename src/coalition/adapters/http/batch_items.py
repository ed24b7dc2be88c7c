"""A batch's purchases judged one by one: a purchase that is malformed or holds a control character is refused
with its own 422 problem, and the batch records the others."""

from __future__ import annotations

from pydantic import ValidationError

from coalition.adapters.http.clean_input import MULTILINE_FIELDS
from coalition.adapters.http.dependencies import single_purchase_hash
from coalition.adapters.http.problems import field_path
from coalition.adapters.http.schemas import BatchPurchase
from coalition.application.purchases.batch import BatchItem
from coalition.domain.errors import InvalidInput
from coalition.domain.input_text import CONTROL_CHARACTER_MESSAGE, first_control_character_path


def batch_item(raw: object, may_hold_controls: bool = True) -> BatchItem | InvalidInput:
    """The item to record, or why it is refused (its field named from the top of the item, as for a single
    purchase). `may_hold_controls` is False when the body's raw JSON cannot hold a control character."""
    found = first_control_character_path(raw, multiline_fields=MULTILINE_FIELDS) if may_hold_controls else None
    if found is not None:
        return InvalidInput(CONTROL_CHARACTER_MESSAGE, field=found)
    try:
        purchase = BatchPurchase.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        return InvalidInput(
            f"{field_path(('body', *first['loc']))}: {first['msg']}", field=field_path(("body", *first["loc"]))
        )
    if not purchase.idempotency_key.strip():  # named here, relative to the item, like every other field of it
        return InvalidInput("each purchase needs an idempotency_key of 1–200 characters", field="idempotency_key")
    if not isinstance(raw, dict):  # model_validate takes only a mapping; this keeps the type checker informed
        return InvalidInput("a purchase is an object", field="body")
    return BatchItem(purchase.idempotency_key, single_purchase_hash(raw), purchase.to_input())
