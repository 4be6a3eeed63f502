"""Admin pages: the directory (salespeople, lines, users), hours, holidays, settings, API
tokens, CSV import and delivery capacity. One blueprint (``admin``, in views.py); each
module beside it holds the pages of one area."""

from __future__ import annotations

# Importing the modules attaches their pages to the blueprint.
from . import (  # noqa: F401
    capacity,
    imports,
    salespeople,
    settings,
    tokens,
    users,
)
from .views import bp

__all__ = ["bp"]
