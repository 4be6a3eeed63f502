"""Admin pages: the directory (salespeople, lines, users), hours, holidays and settings."""

from __future__ import annotations

from . import capacity as _capacity  # noqa: F401  (registers the capacity pages on bp)
from .views import bp

__all__ = ["bp"]
