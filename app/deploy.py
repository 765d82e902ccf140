"""What running behind gunicorn and a proxy needs: proxy headers, security headers, migrations."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import typing as t
from pathlib import Path

import click
from flask import Flask
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_server_actions import security_headers

from .models import db
from .models import seed_database
from .models import seed_posts
from .models import seed_sales

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


if t.TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

#: What a client whose body came too slowly reads (408, then the connection closes).
SLOW_BODY_PAGE: t.Final = (
    b"<!doctype html><html lang=en><meta charset=utf-8><title>Request timeout</title>"
    b"<h1>Your request took too long to arrive</h1><p>Nothing was saved. Please"
    b" check your connection and send the form again.</p></html>"
)


class BodyDeadline:
    """Read a request's body before the app does, in a bounded time, as a proxy would.

    Under gunicorn's threaded workers a client that sends its body a byte at a
    time holds a thread for as long as it likes. This reads the body first
    (into a spooled temporary file) and gives up after ``seconds``, plus one
    second for every ``bytes_per_second`` of the declared length: the read side
    of the connection is shut, the client gets a 408, and the thread is free. A
    body over ``buffer_limit`` with a declared length is left to the app, which
    refuses it from the header (413) without reading it; a chunked one is
    refused here. Only under gunicorn (``gunicorn.socket`` in the environ): the
    development server serves one person.

    A buffering proxy in front (nginx's default ``proxy_request_buffering on``)
    does the same before any thread is involved, for any number of clients.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        seconds: float,
        bytes_per_second: int = 64 * 1024,
        buffer_limit: int = 4 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.bytes_per_second = bytes_per_second
        self.buffer_limit = buffer_limit

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if sock is None or self.seconds <= 0 or not (length or chunked):
            return self.app(environ, start_response)
        if length > self.buffer_limit:
            return self.app(environ, start_response)
        allowance = self.seconds + max(length, 0) / self.bytes_per_second
        expired = threading.Event()

        def shut_reading() -> None:
            expired.set()
            # Wakes the thread's blocked recv() with end-of-file.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RD)

        timer = threading.Timer(allowance, shut_reading)
        timer.daemon = True
        timer.start()
        body = tempfile.SpooledTemporaryFile(max_size=512 * 1024)  # noqa: SIM115
        received = 0
        wanted = length if not chunked else self.buffer_limit + 1
        try:
            stream = environ["wsgi.input"]
            while received < wanted:
                chunk = stream.read(min(64 * 1024, wanted - received))
                if not chunk:
                    break
                body.write(chunk)
                received += len(chunk)
        except Exception:  # noqa: BLE001 - a broken read is the timeout or a disconnect
            pass
        finally:
            timer.cancel()
        if expired.is_set() or (not chunked and received < length):
            body.close()
            start_response(
                "408 Request Timeout",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(SLOW_BODY_PAGE))),
                    ("Connection", "close"),
                    ("Cache-Control", "no-store"),
                ],
            )
            return [SLOW_BODY_PAGE]
        if chunked and received > self.buffer_limit:
            body.close()
            start_response(
                "413 Request Entity Too Large",
                [("Content-Type", "text/plain"), ("Connection", "close")],
            )
            return [b"The request body is too large."]
        body.seek(0)
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(received)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        return self.app(environ, start_response)


def setup(app: Flask) -> None:
    seconds = float(app.config["SITE_BODY_TIMEOUT"])
    if seconds > 0:
        app.wsgi_app = BodyDeadline(  # type: ignore[method-assign]
            app.wsgi_app, seconds=seconds
        )
    proxies = int(app.config["SERVER_ACTIONS_TRUSTED_PROXIES"])
    if proxies:
        # Believe that many proxies for the client address, scheme (HSTS,
        # secure cookies) and host; a client cannot forge more.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    security_headers(app)
    Migrate(app, db, directory=str(MIGRATIONS), compare_type=True)

    @app.cli.command("seed")
    def seed() -> None:
        """Add the example data to an empty database (after `flask db upgrade`)."""
        seed_all()
        click.echo("The database has its example data.")


@contextlib.contextmanager
def instance_lock(app: Flask, name: str) -> t.Iterator[None]:
    """Hold an exclusive lock on ``<instance>/<name>`` (one holder per machine).

    Every process of the site on this machine shares the instance folder, so
    several workers starting at once take turns. The operating system drops
    the lock when its holder exits, even if it crashed.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one development process
        yield
        return
    with open(Path(app.instance_path) / name, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_schema(app: Flask) -> None:
    """Create the tables and the example data, once, however many workers start.

    Without the lock, two gunicorn workers on a fresh SQLite file both found
    the tables missing and the users table empty, and the second failed to boot
    on ``UNIQUE users.email``. Taking turns, the first creates and seeds, the
    others find everything there and add nothing.
    """
    with instance_lock(app, "schema.lock"), app.app_context():
        db.create_all()
        seed_all()
        db.session.remove()


def seed_all() -> None:
    """The example accounts, sales and posts; each part only into an empty table."""
    seed_database()
    seed_sales()
    seed_posts()
