"""Identifiers that find a member: their stored (normalized) forms and the candidates a lookup tries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.errors import InvalidInput
from coalition.domain.identifiers import MAX_IDENTIFIER_LENGTH, IdentifierKind, lookup_candidates, normalize

K = IdentifierKind


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("10000001", "10000001"),
        ("1000-0001", "10000001"),
        (" 1000 0001 ", "10000001"),
        ("5000\t0001", "50000001"),
        ("ab-cd 12", "ABCD12"),
    ],
)
def test_card_numbers_lose_spaces_and_hyphens_and_are_upper_case(raw: str, stored: str) -> None:
    assert normalize(K.CARD, raw) == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+7 912 000 00 01", "+79120000001"),
        ("+7 (912) 000-00-01", "+79120000001"),
        ("79120000001", "+79120000001"),
        ("8.912.000.00.01", "+89120000001"),
        ("1234567", "+1234567"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_phones_are_stored_as_plus_and_digits(raw: str, stored: str) -> None:
    assert normalize(K.PHONE, raw) == stored


@pytest.mark.parametrize(
    "raw", ["123456", "12-34-56", "+1234567890123456", "+7 912 abc 00 01", "7+9120000001", "phone"]
)
def test_phones_need_7_to_15_digits_and_nothing_but_separators(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalize(K.PHONE, raw)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("04a22b1a", "04A22B1A"),
        ("04:a2:2b:1a", "04A22B1A"),
        ("04-A2-2B-1A-5C-80", "04A22B1A5C80"),
        ("04 A2 2B 1A 5C 80 81", "04A22B1A5C8081"),
        ("00" * 16, "00" * 16),
    ],
)
def test_nfc_uids_are_stored_as_bare_upper_case_hex(raw: str, stored: str) -> None:
    assert normalize(K.NFC, raw) == stored


@pytest.mark.parametrize("raw", ["04A22B", "04:A2:2B", "00" * 17, "04A22B1", "04:A2:2B:1G", "04::A2:2B:1A", "uid"])
def test_nfc_uids_have_4_to_16_hex_bytes(raw: str) -> None:
    with pytest.raises(InvalidInput, match="not an NFC UID") as error:
        normalize(K.NFC, raw, field="nfc_uid")
    assert error.value.field == "nfc_uid"


@pytest.mark.parametrize("kind", [K.BARCODE, K.MAGSTRIPE])
def test_barcodes_and_magnetic_tracks_are_kept_as_scanned_without_outer_spaces(kind: IdentifierKind) -> None:
    assert normalize(kind, "  ;1234567890123456=2512? ") == ";1234567890123456=2512?"
    assert normalize(kind, "QR payload-with spaces") == "QR payload-with spaces"


@pytest.mark.parametrize("kind", list(IdentifierKind))
@pytest.mark.parametrize("raw", ["", "   ", "1" * (MAX_IDENTIFIER_LENGTH + 1)])
def test_identifiers_have_1_to_256_characters(kind: IdentifierKind, raw: str) -> None:
    with pytest.raises(InvalidInput, match="1 to 256 characters") as error:
        normalize(kind, raw, field="number")
    assert error.value.field == "number"


def test_an_identifier_of_exactly_256_characters_is_accepted() -> None:
    assert normalize(K.BARCODE, "x" * MAX_IDENTIFIER_LENGTH) == "x" * MAX_IDENTIFIER_LENGTH


@pytest.mark.parametrize("raw", ["-", "---", " - - "])
def test_a_card_number_of_separators_only_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidInput) as error:
        normalize(K.CARD, raw, field="card_number")
    assert error.value.field == "card_number"


def test_a_short_phone_reports_the_callers_field() -> None:
    with pytest.raises(InvalidInput, match="7 to 15 digits") as error:
        normalize(K.PHONE, "12-34-56", field="profile.phone")
    assert error.value.field == "profile.phone"


def test_a_phone_typed_with_full_width_digits_gets_no_second_stored_form() -> None:
    with pytest.raises(InvalidInput):
        normalize(K.PHONE, "+７ ９１２ ０００ ００ ０１")
    # Looked up, it is only ever itself: no phone candidate in full-width digits is made up.
    assert lookup_candidates("+７９１２００００００１") == ("+７９１２００００００１",)


@pytest.mark.parametrize(
    ("raw", "candidates"),
    [
        ("1000-0001", ("1000-0001", "10000001", "+10000001")),
        ("+7 912 000 00 01", ("+7 912 000 00 01", "+79120000001")),
        ("04:a2:2b:1a", ("04:a2:2b:1a", "04:A2:2B:1A", "04A22B1A")),
        ("12345678", ("12345678", "+12345678")),
        ("abc", ("abc", "ABC")),
        ("12345", ("12345",)),
        ("  ABC  ", ("ABC",)),
        ("-", ("-",)),
    ],
)
def test_lookup_candidates_most_literal_first_without_duplicates(raw: str, candidates: tuple[str, ...]) -> None:
    assert lookup_candidates(raw) == candidates


@pytest.mark.parametrize("raw", ["", "  ", "9" * (MAX_IDENTIFIER_LENGTH + 1)])
def test_lookup_of_an_empty_or_too_long_identifier_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidInput) as error:
        lookup_candidates(raw)
    assert error.value.field == "customer"


@given(
    st.sampled_from(list(IdentifierKind)),
    st.from_regex(r"\A[0-9]{7,15}\Z", fullmatch=True),
)
def test_every_stored_form_of_an_identifier_is_among_its_lookup_candidates(kind: IdentifierKind, digits: str) -> None:
    if kind is K.NFC and (len(digits) % 2 or len(digits) < 8):
        digits = digits + "0" * (max(8, len(digits) + len(digits) % 2) - len(digits))
    stored = normalize(kind, digits)
    assert stored in lookup_candidates(digits)


@given(st.from_regex(r"\A\+?[0-9]{7,15}\Z", fullmatch=True), st.sampled_from([" ", "-", "(", ")", "."]))
def test_a_phone_with_separators_is_found_by_its_stored_form(phone: str, separator: str) -> None:
    typed = phone[:4] + separator + phone[4:]
    stored = normalize(K.PHONE, phone)
    assert normalize(K.PHONE, typed) == stored
    assert stored in lookup_candidates(typed)
