"""Every email is built in one place: the web package asks for an email of a kind.

``routing`` never renders templates or writes to the outbox itself; in ``notifications``
only the email module (and the outbox and templates that define them) touch those two.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOW_LEVEL = {"enqueue_email", "render_email"}
ALLOWED = {
    Path("notifications/emails.py"),
    Path("notifications/outbox.py"),
    Path("notifications/templates/__init__.py"),
}


def _uses(path: Path) -> set[str]:
    """The low-level names a module imports or mentions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found |= {alias.name for alias in node.names} & LOW_LEVEL
        elif isinstance(node, ast.Name) and node.id in LOW_LEVEL:
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in LOW_LEVEL:
            found.add(node.attr)
    return found


def _offenders(root: Path, *packages: str) -> dict[str, set[str]]:
    offenders = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if relative not in ALLOWED and (names := _uses(path)):
                offenders[str(relative)] = names
    return offenders


def test_only_the_email_module_renders_and_queues_emails():
    assert _offenders(ROOT, "routing", "notifications") == {}


def test_the_check_sees_a_view_that_queues_its_own_email(tmp_path):
    module = tmp_path / "routing" / "views.py"
    module.parent.mkdir()
    module.write_text(
        "from notifications.outbox import enqueue_email\n"
        "from notifications import templates\n"
        "templates.render_email('x')\n"
    )
    found = _offenders(tmp_path, "routing")
    assert found == {"routing/views.py": {"enqueue_email", "render_email"}}
