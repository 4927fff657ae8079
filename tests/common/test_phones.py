import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textpilot.common.errors import FieldError
from textpilot.common.phones import normalize_phone, phone_region, phone_timezones


@pytest.mark.parametrize(
    "raw, region, expected",
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "DE", "+14155552671"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("07400 123456", "GB", "+447400123456"),
        ("010-2345-6789", "KR", "+821023456789"),
        ("050 123 4567", "AE", "+971501234567"),
        ("  +33 6 12 34 56 78 ", "US", "+33612345678"),
    ],
)
def test_numbers_become_e164(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "   ", "12345", "+1 000 000 0000", "call me", "+999 1234567", "1" * 25])
def test_bad_numbers_name_the_field(raw):
    with pytest.raises(FieldError) as error:
        normalize_phone(raw, "US", field="phone")
    assert error.value.field == "phone"


def test_region_and_time_zones_from_the_number():
    assert phone_region("+4915123456789") == "DE"
    assert "Europe/Berlin" in phone_timezones("+4915123456789")
    assert phone_timezones("+14155552671") == ("America/Los_Angeles",)


@settings(max_examples=300, deadline=None)
@given(region=st.sampled_from(["US", "CA", "GB", "DE", "FR", "AU", "KR", "AE", "BR", "IN"]), seed=st.integers(0, 10**6))
def test_normalising_twice_changes_nothing(region, seed):
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    varied = national[:-3] + f"{seed % 1000:03d}"
    number = phonenumbers.parse(varied, region)
    if not phonenumbers.is_valid_number(number):
        with pytest.raises(FieldError):
            normalize_phone(varied, region)
        return
    e164 = normalize_phone(varied, region)
    assert e164.startswith("+") and normalize_phone(e164, "US") == e164
    assert phone_region(e164) == region


def _region_by_parsing(e164: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


def test_region_by_shape_agrees_with_phonenumbers_for_every_calling_code_and_length():
    """phone_region answers from the number's shape (common/phone_regions.py); phonenumbers
    itself must give the same answer for numbers of every calling code and length, whatever
    the digits, and for every example number (and its variations) of every country."""
    import random

    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    rng = random.Random(9)
    numbers = []
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        for length in range(1, 18):
            for _ in range(60 if len(regions) > 1 else 2):
                numbers.append(f"+{code}{''.join(rng.choice('0123456789') for _ in range(length))}"[:18])
        for region in regions:
            for number_type in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                                phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PERSONAL_NUMBER):
                example = phonenumbers.example_number_for_type(region, number_type)
                if example is None:
                    continue
                e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                for _ in range(20 if len(regions) > 1 else 2):
                    cut = rng.randrange(len(str(code)) + 1, len(e164) + 1)
                    numbers.append(e164[:cut] + "".join(rng.choice("0123456789") for _ in range(len(e164) - cut)))
    wrong = [(n, phone_region(n), _region_by_parsing(n)) for n in numbers if phone_region(n) != _region_by_parsing(n)]
    assert len(numbers) > 20_000 and not wrong, wrong[:5]
    # Shared calling codes really are told apart (not all answered by their main country).
    assert {phone_region(n) for n in ("+12125550123", "+14165550123", "+18765550123", "+17875550123")} == {"US", "CA", "JM", "PR"}
    assert (phone_region("+78123456789"), phone_region("+77012345678"), phone_region("+447400123456")) == ("RU", "KZ", "GB")


@pytest.mark.parametrize("raw, problem", [
    ("+12", "it has too few digits, or letters where digits belong"),
    ("call me", "it has too few digits, or letters where digits belong"),
    ("+999 123", "its country code is unknown; start with + and the country code, e.g. +1 415 555 0123"),
    ("12345678901234567890", "it is too long"),
])
def test_a_number_that_cannot_be_parsed_is_explained_in_plain_words(raw, problem):
    with pytest.raises(FieldError) as error:
        normalize_phone(raw)
    assert error.value.message == f"{raw!r} is not a phone number: {problem}"
