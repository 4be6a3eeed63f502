"""Sentences that end with a name ending in a full stop get one full stop, not two."""

from __future__ import annotations

from sqlalchemy import select

from models import OrgSettings, OutboundEmail
from notifications.templates import full_stop


def test_full_stop_adds_one_only_when_missing():
    assert full_stop("Northwind Supply") == "Northwind Supply."
    assert full_stop("Northwind Supply Co.") == "Northwind Supply Co."
    assert full_stop("Yahoo!") == "Yahoo!"


def test_introduction_names_a_company_ending_in_a_full_stop_once(db_session, make_job):
    settings = db_session.scalar(select(OrgSettings).order_by(OrgSettings.id)) or OrgSettings()
    settings.name = "Northwind Supply Co."
    db_session.add(settings)
    db_session.commit()

    job = make_job(reference="4711")

    intro = db_session.scalar(
        select(OutboundEmail).where(
            OutboundEmail.job_id == job.id, OutboundEmail.kind == "introduction"
        )
    )
    for body in (intro.text_body, intro.html_body):
        assert "at Northwind Supply Co." in body
        assert "Co.." not in body


def test_introduction_still_ends_the_sentence_after_a_plain_name(db_session, make_job):
    settings = db_session.scalar(select(OrgSettings).order_by(OrgSettings.id)) or OrgSettings()
    settings.name = "Northwind Supply"
    db_session.add(settings)
    db_session.commit()

    job = make_job(reference="4712")

    intro = db_session.scalar(
        select(OutboundEmail).where(
            OutboundEmail.job_id == job.id, OutboundEmail.kind == "introduction"
        )
    )
    assert "at Northwind Supply.\n" in intro.text_body
    assert "at Northwind Supply.</p>" in intro.html_body
