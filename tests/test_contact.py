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
