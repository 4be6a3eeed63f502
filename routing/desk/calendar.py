"""ICS invitations (RFC 5545) for appointments and teleconferences."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.utils import parseaddr

from icalendar import Calendar, Event, vCalAddress, vText


def _address(email: str, name: str | None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    return address


def invite_ics(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location: str | None,
    organizer: str,
    attendees: Iterable[tuple[str | None, str]],
    stamp: datetime,
    sequence: int = 0,
) -> str:
    """A METHOD:REQUEST calendar with one event; ``organizer`` is a "Name <email>" string."""
    calendar = Calendar()
    calendar.add("prodid", "-//Switchboard//Coordinator console//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)
    organizer_name, organizer_email = parseaddr(organizer)
    event["organizer"] = _address(organizer_email or organizer, organizer_name or None)
    for name, email in attendees:
        attendee = _address(email, name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("NEEDS-ACTION")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def ics_attachment(ics_text: str) -> dict[str, str]:
    return {
        "filename": "invite.ics",
        "content_type": "text/calendar; method=REQUEST",
        "content": ics_text,
    }
