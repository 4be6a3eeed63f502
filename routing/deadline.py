"""A client-side deadline for database work on the call path (PRODUCT.md section 3, fixed).

A PostgreSQL server that stops answering (frozen, a dead host behind a live TCP stack)
never trips ``connect_timeout`` or ``statement_timeout``: the driver waits on its socket
for ever. The web process runs gunicorn's gevent worker (see the Procfile), and psycopg 3
waits on its socket through gevent's hub once ``select`` is monkey-patched (psycopg
≥ 3.1.14), so a ``gevent.Timeout`` interrupts any wait of the driver — a query, a
connect, a pool checkout — at the deadline. It costs one timer per request, which the
webhook benchmark does not see.

Outside gevent (the Flask test client, ``flask run``) nothing can interrupt a blocking
libpq call in a sync thread short of a signal, so there the deadline is not enforced and
the code under it simply runs to completion.

Whatever the deadline interrupted was in the middle of talking to the database: its
connection must be thrown away (``Session.invalidate()``, ``raw.invalidate()``), never put
back in the pool, where the next request would block on it or read another's answer.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


class DeadlineExceeded(Exception):
    """The work under ``deadline(seconds)`` did not finish in time and was interrupted."""


def enforced() -> bool:
    """True when a deadline can interrupt blocking I/O here (gevent's patched sockets)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("select")


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` with ``DeadlineExceeded`` (under gevent).

    Inside, the interruption is a ``gevent.Timeout`` (a BaseException, so no
    ``except Exception`` on the way swallows it or tries to clean up over the stuck
    connection); it leaves the block as ``DeadlineExceeded``.
    """
    if not enforced():
        yield
        return
    import gevent

    timeout = gevent.Timeout(seconds)
    timeout.start()
    try:
        yield
    except gevent.Timeout as fired:
        if fired is not timeout:
            raise
        raise DeadlineExceeded(f"gave up after {seconds:g} s") from None
    finally:
        timeout.close()
