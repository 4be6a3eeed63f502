"""Phone numbers and email addresses at the edge: parse what people type, keep one form inside."""

from __future__ import annotations

import functools
import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidContact(ValueError):
    """A phone number or email address that cannot be used; the message says why."""


# North American numbers as people type them, ASCII digits only: (201) 555-0123,
# 201-555-0123, 201.555.0123, +1 201 555 0123, 1-201-555-0123, +12015550123. For these
# shapes phonenumbers always reads country code 1 and the ten digits (an area code starts
# with 2-9, so a leading 1 is the country code and never part of the number).
_NANP_SHAPE = re.compile(
    r"(?:\+?1[ .-]?)?(?:\(([2-9][0-9]{2})\)|([2-9][0-9]{2}))[ .-]?([0-9]{3})[ .-]?([0-9]{4})"
)
# Regions whose numbers read that way: country code 1, national prefix 1, no rewriting of
# seven-digit local numbers (several Caribbean regions have one).
_NANP_FAST_REGIONS = frozenset({"US", "CA"})


def _fast_nanp(text: str, region: str) -> str | None:
    """E.164 for a valid North American number in a common shape; None to check it fully.

    The same answer as the full parse at a fraction of the cost (a large import is mostly
    such numbers). Validity is phonenumbers' own: a number valid for the US is valid (the
    US is the first region phonenumbers tries for country code 1); anything else gets
    ``is_valid_number``.
    """
    if region not in _NANP_FAST_REGIONS:
        return None
    shape = _NANP_SHAPE.fullmatch(text)
    if shape is None:
        return None
    digits = (shape[1] or shape[2]) + shape[3] + shape[4]
    number = phonenumbers.PhoneNumber(country_code=1, national_number=int(digits))
    if phonenumbers.is_valid_number_for_region(number, "US") or phonenumbers.is_valid_number(
        number
    ):
        return f"+1{digits}"
    return None


def normalise_phone(raw: str | None, region: str = "US") -> str:
    """The E.164 form of ``raw`` (any common format), or InvalidContact."""
    text = (raw or "").strip()
    if not text:
        raise InvalidContact("a phone number is required")
    fast = _fast_nanp(text, region.upper())
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        raise InvalidContact(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalise_phone(raw: str | None, region: str = "US") -> str | None:
    """E.164 if ``raw`` is a usable number; None for anonymous, withheld or malformed callers."""
    try:
        return normalise_phone(raw, region)
    except InvalidContact:
        return None


# Pages list hundreds of numbers and parsing one costs a quarter of a millisecond.
@functools.lru_cache(maxsize=8192)
def format_phone(e164: str | None) -> str:
    """A number as people read it (international format); empty for none."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# RFC 5322 dot-atom of ASCII "atext": the local part of nearly every real address.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
# Well inside the 254-character limit, so the fast path needs no length arithmetic.
_FAST_PATH_MAX_LENGTH = 200


@functools.lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> str:
    """The normalised domain, checked once per domain (files repeat a few hundred domains)."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from None


def normalise_email(raw: str | None) -> str:
    """A checked, lower-cased email address (syntax only: no DNS), or InvalidContact.

    A plain ASCII local part needs no checks beyond its shape, so only the domain goes
    through email-validator (cached): the same answer at a tenth of the cost for the
    addresses of a large import. Anything else is checked whole.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidContact("an email address is required")
    local, at, domain = text.rpartition("@")
    if (
        at
        and len(text) <= _FAST_PATH_MAX_LENGTH
        and len(local) <= 64
        and _PLAIN_LOCAL_PART.fullmatch(local)
    ):
        return f"{local}@{_checked_domain(domain)}".lower()
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from None
    return checked.normalized.lower()
