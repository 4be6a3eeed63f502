"""Email templates: one folder per kind holding subject.txt, body.txt and body.html."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent


class RenderedEmail(NamedTuple):
    subject: str
    text_body: str
    html_body: str


def full_stop(text: Any) -> str:
    """``text`` ending a sentence: one full stop, none added after "Co." or "?"."""
    value = str(text).rstrip()
    return value if value.endswith((".", "!", "?", "…")) else f"{value}."


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["full_stop"] = full_stop
    return env


def render_email(kind: str, **context: Any) -> RenderedEmail:
    """Render the ``kind`` triplet; a missing variable is an error, never a blank."""
    env = _environment()
    subject = env.get_template(f"{kind}/subject.txt").render(**context)
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text_body=env.get_template(f"{kind}/body.txt").render(**context),
        html_body=env.get_template(f"{kind}/body.html").render(**context),
    )
