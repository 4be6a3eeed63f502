"""Admin: upload a directory CSV file (the same files ``switchboard import`` reads)."""

from __future__ import annotations

from flask import render_template, request

from ..clock import request_now
from ..database import get_session
from ..setup.importer import HEADERS, ImportFailed, import_directory
from .views import _actor, _done, _region, bp


@bp.get("/import")
def import_page():
    """Upload a directory CSV file (the same files `switchboard import` reads)."""
    return render_template(
        "admin/import.html", headers=HEADERS, problems=[], chosen=None, checked=None
    )


@bp.post("/import")
def import_upload():
    """Check the whole file; import it only if every row is good, else list every bad row."""
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in HEADERS or upload is None or not upload.filename:
        problem = "Choose what the file holds and a CSV file to upload."
        return render_template(
            "admin/import.html", headers=HEADERS, problems=[problem], chosen=kind
        ), 422
    session = get_session()
    try:
        summary = import_directory(
            session,
            kind,
            upload.stream.read(),
            region=_region(),
            actor=_actor().label,
            now=request_now(),
        )
    except ImportFailed as failure:
        session.rollback()
        problems = [str(error) for error in failure.errors]
        return render_template(
            "admin/import.html",
            headers=HEADERS,
            problems=problems,
            chosen=kind,
            filename=upload.filename,
        ), 422
    if request.form.get("check"):
        session.rollback()
        return render_template(
            "admin/import.html",
            headers=HEADERS,
            problems=[],
            chosen=kind,
            checked=f"{upload.filename} is good. Importing it would give: {summary}.",
        )
    return _done(f"Imported {upload.filename}: {summary}.", "admin.import_page")
