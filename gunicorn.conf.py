"""gunicorn settings the Procfile's web process reads (``--config gunicorn.conf.py``).

The worker class and its sizes are on the Procfile line itself; here only the hooks.
Nothing of ours is imported at the top: the gevent worker patches the standard library
after the fork, and the application must be imported after that.
"""


def post_worker_init(worker):
    """Each worker connects and loads the directory before taking its first call."""
    from routing.voice import warm_up

    warm_up(worker.wsgi)


# The path without its query string, and no referrer: console searches put customers'
# names, emails and phone numbers in query strings, and those stay out of the logs.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
