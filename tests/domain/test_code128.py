"""Code 128 set B (domain/code128.py) against the standard: every symbol 11 modules (STOP 13) with an even count of
bar modules, the check symbol of a worked example computed by hand, and any printable text read back as written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.code128 import PATTERNS, START_B, STOP, check_value, decode_b, encode_b
from coalition.domain.errors import InvalidInput


def test_the_table_is_the_standards() -> None:
    assert len(PATTERNS) == 107 and len(set(PATTERNS)) == 107
    for value, pattern in enumerate(PATTERNS):
        modules = sum(int(width) for width in pattern)
        assert modules == (13 if value == STOP else 11), value
        bars = sum(int(width) for width in pattern[0::2])
        assert bars % 2 == 0, value  # the standard's parity: bars cover an even number of modules
    assert PATTERNS[START_B] == "211214" and PATTERNS[STOP] == "2331112" and PATTERNS[0] == "212222"


def test_a_card_number_worked_by_hand() -> None:
    code = encode_b("PJJ123C")
    # START B 104, then P=48, J=42, J=42, 1=17, 2=18, 3=19, C=35 (ASCII − 32)
    # 104 + 48×1 + 42×2 + 42×3 + 17×4 + 18×5 + 19×6 + 35×7 = 879; 879 mod 103 = 55
    assert code.values == (104, 48, 42, 42, 17, 18, 19, 35, 55, 106)
    assert check_value(code.values[:-2]) == 55
    assert code.modules == 11 * 9 + 13
    assert decode_b(code.widths) == "PJJ123C"


def test_a_wrong_check_symbol_is_refused() -> None:
    code = encode_b("166217047603")
    wrong = code.widths[:-13] + PATTERNS[(code.values[-2] + 1) % 103] + PATTERNS[STOP]
    with pytest.raises(InvalidInput, match="check symbol"):
        decode_b(wrong)


@pytest.mark.parametrize("text", ["", "x" * 49, "café", "a\tb"])
def test_what_set_b_cannot_hold_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        encode_b(text)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=48))
def test_any_printable_text_reads_back(text: str) -> None:
    code = encode_b(text)
    assert decode_b(code.widths) == text
    bars = code.bars()
    assert bars[0][0] == 0 and sum(width for _, width in bars) + sum(int(w) for w in code.widths[1::2]) == code.modules
