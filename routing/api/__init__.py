"""The JSON API under /api/v1 (PRODUCT.md §5): jobs, authenticated with bearer tokens."""

from .views import bp

__all__ = ["bp"]
