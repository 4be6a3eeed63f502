"""Twilio webhooks never fail and never keep Twilio waiting (PRODUCT.md section 3, fixed).

``never_fail(on_error)`` wraps a view under /twilio/: the view gets ``WEBHOOK_DEADLINE_S``
(see routing/deadline.py) and its work is committed once, after it has built its answer
(the services it calls only flush); a failure (database refused, a bug) or a missed deadline
(database frozen or crawling) answers ``on_error()`` — TwiML built without the database
that still gets the caller to a human or a voicemail — with 200, well inside the 5 s
every webhook other than /incoming is answered in.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from ..database import discard_session, get_session
from ..deadline import DeadlineExceeded, deadline
from . import twiml as t

log = logging.getLogger(__name__)

# The view's budget; the rest of the 5 s is for rolling back and a loaded machine.
WEBHOOK_DEADLINE_S = 3.5
# Rolling back after an ordinary failure; past it the session is thrown away instead.
ROLLBACK_DEADLINE_S = 0.5


def never_fail(on_error: Callable[[], VoiceResponse]) -> Callable:
    """Answer ``on_error()`` TwiML with 200 when the view fails or misses its deadline."""

    def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            try:
                with deadline(WEBHOOK_DEADLINE_S):
                    response = view(*args, **kwargs)
                    # The one commit of the request: a failure before it keeps nothing.
                    get_session().commit()
                    return response
            except DeadlineExceeded:
                log.warning(
                    "voice webhook %s: no answer from the database within %.1f s for call "
                    "%s; answering safe TwiML",
                    request.path,
                    WEBHOOK_DEADLINE_S,
                    request.form.get("CallSid"),
                )
                # Its connection is mid-statement: closed, never pooled again.
                discard_session()
            except Exception:
                log.exception(
                    "voice webhook %s failed for call %s; answering safe TwiML",
                    request.path,
                    request.form.get("CallSid"),
                )
                _roll_back()
            return t.twiml(on_error())

        return wrapped

    return decorator


def _roll_back() -> None:
    try:
        with deadline(ROLLBACK_DEADLINE_S):
            get_session().rollback()
    except DeadlineExceeded:
        discard_session()
    except Exception:
        log.exception("rollback after a failed voice webhook failed")
        discard_session()
