"""The baseline: the cheapest Flask app that answers Twilio with TwiML.

It does what any webhook must (parse the form, answer text/xml) and nothing else: no
database, no signature. Switchboard's throughput is reported as a ratio to this app's,
measured on the same machine, in the same run, under the same gunicorn settings.
"""

from __future__ import annotations

from flask import Flask, Response, request

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Dial action="/twilio/voice/dial-complete'
    '?round=1" callerId="+12025550111" timeout="20"><Number url="/twilio/voice/whisper">'
    "+14155557001</Number></Dial></Response>"
)


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/twilio/voice/incoming")
    def incoming() -> Response:
        """Constant TwiML, after reading the form as any webhook does."""
        request.form.get("CallSid")
        return Response(TWIML, mimetype="text/xml")

    return app
