"""Error pages in the site's layout, so nobody meets a bare status line."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import make_response
from flask import render_template
from werkzeug.exceptions import HTTPException

_TEXT = {
    403: ("You cannot open this page", "Your account does not have access to it."),
    404: (
        "Page not found",
        "There is nothing at this address. Check the link, or start from the examples.",
    ),
    405: ("Not allowed here", "This address does not answer that kind of request."),
}


def register(app: Flask) -> None:
    @app.errorhandler(500)
    def server_error(_exc: HTTPException) -> tuple[str, int]:
        # Logged by Flask already; the page must not need the database.
        title = "Something went wrong"
        text = "Something went wrong on our side. Please try again in a moment."
        return render_template(
            "unavailable.html", code=500, title=title, text=text
        ), 500

    @app.errorhandler(503)
    def unavailable(exc: HTTPException) -> tuple[str, int, dict[str, str]]:
        seconds = int(getattr(exc, "retry_after", None) or 5)
        title = "Busy for a moment"
        text = (
            "The site cannot reach its database right now. Nothing is lost:"
            f" please try again in {seconds} seconds."
        )
        page = render_template("unavailable.html", code=503, title=title, text=text)
        return page, 503, {"Retry-After": str(seconds)}

    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    def page_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        title, text = _TEXT.get(code, (exc.name, exc.description or ""))
        page = render_template("error.html", code=code, title=title, text=text)
        response = make_response(page, code)
        # A 405 must say which methods the address answers.
        allow = exc.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response
