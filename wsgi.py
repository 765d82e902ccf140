"""The WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app` (configured from the environment)."""

from __future__ import annotations

from app import create_app

app = create_app()
