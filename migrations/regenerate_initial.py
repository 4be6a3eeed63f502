"""Rewrite the initial migration from the models (only until the first release ships).

Usage: python migrations/regenerate_initial.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from routing.cli.db import MIGRATIONS, alembic_config


def main() -> None:
    for old in (MIGRATIONS / "versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{Path(tmp) / 'empty.sqlite3'}")
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")


if __name__ == "__main__":
    main()
