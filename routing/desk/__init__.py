"""The coordinator's desk: business rules behind the console, tested without Flask.

Each module takes a SQLAlchemy ``Session`` and plain values; views in ``routing.console``
parse forms, call one function here, commit, and render.
"""
