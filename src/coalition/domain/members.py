"""A member's program attributes that rules read: segments (social, pensioner, vip…), a tier, a card type.

Names are short lowercase labels so that a rule's condition (`"social" in member.segments`) matches what the
administrator typed whatever its case or surrounding spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from coalition.domain.errors import InvalidInput

MAX_SEGMENTS = 20
MAX_LABEL_LENGTH = 32
DEFAULT_CARD_TYPE = "standard"
_LABEL = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def parse_label(value: str, *, field: str, allow_empty: bool = False) -> str:
    """A segment, tier or card type: lowercase letters, digits, '_', '.', '-', at most 32 characters."""
    label = value.strip().lower()
    if not label and allow_empty:
        return ""
    if len(label) > MAX_LABEL_LENGTH or not _LABEL.fullmatch(label):
        raise InvalidInput(
            f"'{value}' is not a label: use 1 to {MAX_LABEL_LENGTH} lowercase letters, digits, '_', '.' or '-'",
            field=field,
        )
    return label


def parse_segments(values: Iterable[str], *, field: str = "segments") -> tuple[str, ...]:
    """Distinct labels, sorted; at most MAX_SEGMENTS."""
    labels = {parse_label(value, field=f"{field}[{index}]") for index, value in enumerate(values)}
    if len(labels) > MAX_SEGMENTS:
        raise InvalidInput(f"a member has at most {MAX_SEGMENTS} segments", field=field)
    return tuple(sorted(labels))


def segments_to_text(segments: Iterable[str]) -> str:
    """How segments are stored: one comma-separated column, read with the member on the purchase path."""
    return ",".join(sorted(set(segments)))


def segments_from_text(text: str | None) -> frozenset[str]:
    return frozenset(part for part in (text or "").split(",") if part)
