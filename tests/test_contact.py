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
