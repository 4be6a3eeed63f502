"""Admin pages: the directory (salespeople, lines, users), hours, holidays and settings."""

from __future__ import annotations

from .views import bp

__all__ = ["bp"]
