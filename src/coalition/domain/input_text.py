"""What text may come in from outside: no control characters, and whole numbers in ASCII digits of a bounded size.

PostgreSQL cannot store NUL in text at all, and the other control characters have no business in a receipt number,
a login or a card number; refusing them at the edge keeps them out of every store, log and CSV. Tab, line feed and
carriage return are allowed only in free text that may span lines (notes, descriptions, rule-set documents).
"""

from __future__ import annotations

import re

from coalition.domain.errors import InvalidInput

# C0 controls and DEL, everywhere; tab, line feed and carriage return are allowed in multi-line free text only. The
# bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) too: text that shows itself in
# another order than it is stored ("Trojan Source") has no place in a name, a code or a rule set.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\\x00-\\x1f\\x7f{_BIDI}]")
_CONTROL_IN_FREE_TEXT = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f{_BIDI}]")
# a JSON text holds a bidirectional control as itself (UTF-8: E2 80 AA–AE, E2 81 A6–A9) or as an escape
_BIDI_UTF8_LEADS = (b"\xe2\x80", b"\xe2\x81")
CONTROL_CHARACTER_MESSAGE = "control characters (such as NUL) are not allowed"
MAX_WHOLE_NUMBER = 2**63 - 1  # the databases' 64-bit integers
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


def has_control_character(text: str, *, multiline: bool = False) -> bool:
    return (_CONTROL_IN_FREE_TEXT if multiline else _CONTROL).search(text) is not None


def without_control_characters(text: str, *, multiline: bool = False) -> str:
    """The text with its control characters taken out: what a form shows again beside the refusal naming the field
    (never stored)."""
    return (_CONTROL_IN_FREE_TEXT if multiline else _CONTROL).sub("", text)


def may_hold_control_characters(raw_json: bytes) -> bool:
    """False when a JSON text cannot hold a control character: JSON writes C0 characters only as escapes (a
    backslash), and DEL and the bidirectional controls only as themselves. Most bodies have none of these bytes, and
    skip the walk of their parsed document."""
    return b"\\" in raw_json or b"\x7f" in raw_json or any(lead in raw_json for lead in _BIDI_UTF8_LEADS)


def first_control_character_path(
    document: object, multiline_fields: frozenset[str] = frozenset(), *, all_multiline: bool = False
) -> str | None:
    """The path (`items[0].sku`) of the first string in a parsed JSON or YAML document holding a control character,
    keys included; None when it is clean. Strings named in `multiline_fields` (or all, with `all_multiline`) may
    hold tab and new lines. A loop, not recursion: a deeply nested document must not exhaust the stack."""
    pending: list[tuple[str, object, str]] = [("", document, "")]
    while pending:
        path, value, name = pending.pop()
        if isinstance(value, str):
            if has_control_character(value, multiline=all_multiline or name in multiline_fields):
                return path or "body"
        elif isinstance(value, dict):
            children: list[tuple[str, object, str]] = []
            for key, item in value.items():
                inner = f"{path}.{key}" if path else str(key)
                if has_control_character(str(key)):
                    return inner
                children.append((inner, item, str(key)))
            pending.extend(reversed(children))
        elif isinstance(value, list):
            pending.extend(reversed([(f"{path}[{index}]", item, name) for index, item in enumerate(value)]))
    return None


def parse_whole_number(text: str, *, field: str, message: str, maximum: int = MAX_WHOLE_NUMBER) -> int:
    """A non-negative whole number typed into a form: ASCII digits (surrounding spaces trimmed), at most `maximum`."""
    cleaned = text.strip()
    if _WHOLE_NUMBER.fullmatch(cleaned) is None or int(cleaned) > maximum:
        raise InvalidInput(message, field=field)
    return int(cleaned)
