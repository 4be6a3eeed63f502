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
    method: str = "REQUEST",
) -> str:
    """A calendar with one event; ``organizer`` is a "Name <email>" string.

    METHOD:REQUEST invites (or, with the same ``uid`` and a higher ``sequence``, moves
    the event the recipient already has); METHOD:CANCEL with STATUS:CANCELLED removes it.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    calendar = Calendar()
    calendar.add("prodid", "-//Switchboard//Coordinator console//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("sequence", sequence)
    if method == "CANCEL":
        event.add("status", "CANCELLED")
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


def ics_attachment(ics_text: str, method: str = "REQUEST") -> dict[str, str]:
    return {
        "filename": "invite.ics" if method == "REQUEST" else "cancel.ics",
        "content_type": f"text/calendar; method={method}",
        "content": ics_text,
    }
