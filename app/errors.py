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
