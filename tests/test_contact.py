"""Phone and email normalisation at the edge."""

from __future__ import annotations

import pytest

from models.contact import InvalidContact, normalise_email, normalise_phone, try_normalise_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0134", "US", "+14155550134"),
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("020 7946 0018", "GB", "+442079460018"),
    ],
)
def test_common_formats_become_e164(raw, region, expected):
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["anonymous", "+266696687", "", "12", "not a number"])
def test_withheld_and_malformed_callers_have_no_number(raw):
    assert try_normalise_phone(raw) is None
    with pytest.raises(InvalidContact):
        normalise_phone(raw)


def test_email_is_checked_and_lower_cased():
    assert normalise_email("  Bob.Jones@Example.COM ") == "bob.jones@example.com"
    with pytest.raises(InvalidContact):
        normalise_email("bob@@example")


ADDRESSES = [
    "Customer.1@Example1.com",
    "first.last+tag@sub.domain.co.uk",
    "o'brien@example.ie",
    "a@bücher.de",
    "x@xn--bcher-kva.example",
    "ünïcode@example.com",
    '"quoted local"@example.com',
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@localhost",
    "a@test.test",
    "a@-bad-.com",
    "a@example..com",
    "no-at-sign.example.com",
    "@example.com",
    "a@",
    "two@@example.com",
    "a@b@example.com",
    "x" * 65 + "@example.com",
    "a@" + "d" * 64 + ".com",
    "a@" + ".".join(["label"] * 50) + ".com",
]


@pytest.mark.parametrize("raw", ADDRESSES)
def test_fast_path_gives_the_same_answer_as_checking_the_whole_address(raw):
    """Plain addresses skip the full check of their local part; the answer never changes."""
    from email_validator import EmailNotValidError, validate_email

    try:
        expected = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    if expected is None:
        with pytest.raises(InvalidContact):
            normalise_email(raw)
    else:
        assert normalise_email(raw) == expected


def _phonenumbers_answer(raw: str, region: str) -> str | None:
    """What phonenumbers itself says, step by step: E.164, or None when refused."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PHONES = [
    # National formats, with and without the country code.
    "(415) 555-0134",
    "415-555-0134",
    "415.555.0134",
    "415 555 0134",
    "4155550134",
    "1 415 555 0134",
    "1-415-555-0134",
    "1 (415) 555-0134",
    "14155550134",
    "+1 415 555 0134",
    "+1 (415) 555-0134",
    "+14155550134",
    "+1-415-555-0134",
    "+1.415.555.0134",
    # Canada, the Caribbean, toll-free and premium numbers share country code 1.
    "(604) 555-0134",
    "+1 604 555 0134",
    "(268) 464-1234",
    "+1 268 464 1234",
    "(787) 555-0134",
    "(800) 555-0134",
    "(900) 555-0134",
    "(500) 555-0134",
    # Area codes and exchanges that no number has.
    "(011) 555-0134",
    "(111) 555-0134",
    "(211) 555-0134",
    "(555) 555-0134",
    "(415) 055-0134",
    "(415) 155-0134",
    "(999) 555-0134",
    "(370) 555-0134",
    # Invalid lengths.
    "415555013",
    "41555501345",
    "141555501345",
    "+1415555013",
    "+141555501345",
    "555-0134",
    "5550134",
    # Extensions and letters.
    "(415) 555-0134 ext. 12",
    "415-555-0134 x12",
    "415-555-0134#12",
    "1-800-FLOWERS",
    "+1 415 555 0134;ext=5",
    # Odd punctuation, doubled separators and other digits.
    "415--555--0134",
    "(415)555-0134",
    "(415 555-0134",
    "415) 555-0134",
    "+ 1 415 555 0134",
    "++14155550134",
    "001 415 555 0134",
    "011 44 20 7946 0018",
    "４１５５５５０１３４",
    "\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0663\u0664",
    # Other countries.
    "+44 20 7946 0018",
    "020 7946 0018",
    "+33 1 42 68 53 00",
    "+49 30 901820",
    "+61 2 9374 4000",
    "+52 55 1234 5678",
    "+7 495 123 45 67",
    "+266696687",
]


@pytest.mark.parametrize("region", ["US", "CA", "GB", "AG"])
@pytest.mark.parametrize("raw", PHONES)
def test_phone_fast_path_gives_the_same_answer_as_phonenumbers(raw, region):
    """Common North American shapes skip the full parse; the answer never changes."""
    expected = _phonenumbers_answer(raw, region)
    if expected is None:
        with pytest.raises(InvalidContact):
            normalise_phone(raw, region)
    else:
        assert normalise_phone(raw, region) == expected


def test_phone_fast_path_agrees_with_phonenumbers_on_generated_numbers():
    """Every area code and exchange shape, each separator and prefix: one answer."""
    import random

    rng = random.Random(14)
    shapes = ("({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "1{a}{b}{c}", "+1 {a} {b} {c}")
    checked = accepted = 0
    for area in range(100, 1000):
        exchange = rng.randrange(0, 1000)
        line = rng.randrange(0, 10_000)
        raw = rng.choice(shapes).format(a=area, b=f"{exchange:03d}", c=f"{line:04d}")
        for region in ("US", "CA"):
            expected = _phonenumbers_answer(raw, region)
            got = try_normalise_phone(raw, region)
            assert got == expected, raw
            checked += 1
            accepted += got is not None
    assert checked == 1800
    assert 0 < accepted < checked  # both answers were exercised
