"""Identifiers that find a member: their stored (normalized) forms and the candidates a lookup tries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coalition.domain.errors import InvalidInput
from coalition.domain.identifiers import (
    MAX_IDENTIFIER_LENGTH,
    IdentifierKind,
    checked_country,
    lookup_candidates,
    normalize,
)

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
    ("raw", "region", "stored"),
    [
        ("+7 912 000 00 01", None, "+79120000001"),
        ("+7 (912) 000-00-01", None, "+79120000001"),
        ("79120000001", None, "+79120000001"),  # without a region the country code is required, "+" or not
        ("8 912 000 00 03", "RU", "+79120000003"),  # the trunk prefix 8 of Russia
        ("8.912.000.00.03", "RU", "+79120000003"),
        ("+7 912 000-00-03", "RU", "+79120000003"),
        ("912 000 00 03", "RU", "+79120000003"),  # the 10-digit national number
        ("7 912 000 00 03", "RU", "+79120000003"),
        ("(495) 123-45-67", "RU", "+74951234567"),
        ("+49 30 1234567", "RU", "+49301234567"),  # a "+" overrides the region
        ("030 1234567", "DE", "+49301234567"),
    ],
)
def test_phones_are_stored_in_e164_read_in_the_networks_country(raw: str, region: str | None, stored: str) -> None:
    assert normalize(K.PHONE, raw, region=region) == stored


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("123456", "RU"),
        ("12-34-56", None),
        ("+1234567890123456", None),
        ("+7 912 abc 00 01", "RU"),
        ("7+9120000001", "RU"),
        ("phone", "RU"),
        ("8 912 000 00 03", None),  # no region: +89120000003 is no number
        ("8 012 000 00 03", "RU"),  # no such Russian area
        ("+7 000 000 00 01", "RU"),
    ],
)
def test_what_is_not_a_valid_phone_number_is_refused(raw: str, region: str | None) -> None:
    with pytest.raises(InvalidInput):
        normalize(K.PHONE, raw, region=region)


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
    with pytest.raises(InvalidInput, match="is not a valid phone number") as error:
        normalize(K.PHONE, "12-34-56", field="profile.phone", region="RU")
    assert error.value.field == "profile.phone"
    with pytest.raises(InvalidInput, match="with its country code"):
        normalize(K.PHONE, "912 000 00 03")


def test_the_three_forms_of_one_phone_have_one_candidate_in_common() -> None:
    forms = ("8 912 000 00 03", "+7 912 000-00-03", "9120000003")
    assert all("+79120000003" in lookup_candidates(form, "RU") for form in forms)
    assert all(normalize(K.PHONE, form, region="RU") == "+79120000003" for form in forms)
    # a phone stored before E.164 and left by migration 0049 is still found by its old form
    assert "+89120000003" in lookup_candidates("8 912 000 00 03", "RU")


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


def test_lookup_candidates_are_kept_per_text_and_region_and_a_refusal_is_never_kept() -> None:
    # kept: every purchase asks for its customer's candidates
    assert lookup_candidates("8 912 000 00 03", "RU") is lookup_candidates("8 912 000 00 03", "RU")
    assert lookup_candidates("8 912 000 00 03", "RU") == lookup_candidates.__wrapped__("8 912 000 00 03", "RU")
    assert "+79120000003" in lookup_candidates("8 912 000 00 03", "RU")
    assert "+79120000003" not in lookup_candidates("8 912 000 00 03", None)  # kept per region too
    for _ in range(2):  # refused each time it is asked, naming the field
        with pytest.raises(InvalidInput) as error:
            lookup_candidates("  ")
        assert error.value.field == "customer"


@given(
    st.sampled_from(list(IdentifierKind)),
    st.from_regex(r"\A[0-9]{7,15}\Z", fullmatch=True),
)
def test_every_stored_form_of_an_identifier_is_among_its_lookup_candidates(kind: IdentifierKind, digits: str) -> None:
    if kind is K.NFC and (len(digits) % 2 or len(digits) < 8):
        digits = digits + "0" * (max(8, len(digits) + len(digits) % 2) - len(digits))
    for region in (None, "RU"):
        try:
            stored = normalize(kind, digits, region=region)
        except InvalidInput:
            assert kind is K.PHONE  # most digits are no valid phone number
            continue
        assert stored in lookup_candidates(digits, region)


@given(st.from_regex(r"\A\+?[0-9]{7,15}\Z", fullmatch=True), st.sampled_from([" ", "-", "(", ")", "."]))
def test_a_phone_with_separators_is_found_by_its_stored_form(phone: str, separator: str) -> None:
    typed = phone[:4] + separator + phone[4:]
    for region in (None, "RU"):
        try:
            stored = normalize(K.PHONE, phone, region=region)
        except InvalidInput:
            continue
        assert normalize(K.PHONE, typed, region=region) == stored
        assert stored in lookup_candidates(typed, region)


@pytest.mark.parametrize(("typed", "stored"), [("RU", "RU"), ("kz", "KZ"), (" De ", "DE"), ("gb", "GB")])
def test_a_network_country_is_a_region_the_phone_library_reads_in_capitals(typed: str, stored: str) -> None:
    assert checked_country(typed) == stored


@pytest.mark.parametrize("typed", ["", "X", "XX", "EU", "RUS", "R1", "001", "Россия", "U\u200bS"])
def test_anything_else_is_refused_naming_the_country(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_country(typed)
    assert refused.value.field == "country"
