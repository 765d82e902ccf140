"""The CPU benchmark's to-do page written by hand: Flask + Flask-WTF, no toolkit.

Twin of :mod:`bench.cpu_toolkit`, written the way a careful developer would
without it: CSRF for every POST (``CSRFProtect``), a WTForms form with one
validated field, the form and the list as partial templates that the page
includes, and an action view that answers

* htmx, valid: the fresh form with its message, plus the changed list out of
  band (``hx-swap-oob``), 200;
* htmx, invalid: the form with the input kept and the errors shown, 422;
* a plain browser, valid: a flashed message and 303 to the page (Post/Redirect/Get);
* a plain browser, invalid: the whole page with the form's errors, 422;

with ``Cache-Control: no-store`` and ``Vary: HX-Request`` on every answer of
the action. The page renders the list from its data on every request, as a
hand-written app without a fragment cache does. It does not import the toolkit.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask import Response
from flask import flash
from flask import get_flashed_messages
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_wtf import CSRFProtect

from bench._todo import TodoForm
from bench._todo import keep
from bench._todo import seed
from bench._todo import stored_todos

TODOS = seed()


def no_store(response: Response) -> Response:
    """An action's answer depends on the request and must never be cached."""
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    return response


def create_app() -> Flask:
    here = Path(__file__).parent
    app = Flask(
        __name__,
        template_folder=str(here / "templates"),
        static_folder=str(here / "static"),
    )
    app.config["SECRET_KEY"] = "bench-cpu"
    CSRFProtect(app)

    @app.get("/todos")
    def index() -> str:
        return page(TODOS)

    # The toolkit's twin caches this list; a hand-written app without a
    # fragment cache reads it from the database and renders it every time.
    @app.get("/todos/cached")
    def index_from_database() -> str:
        return page(stored_todos())

    def page(todos: list[str]) -> str:
        messages = get_flashed_messages()
        return render_template(
            "cpu_hand.html",
            form=TodoForm(),
            todos=todos,
            message=messages[-1] if messages else None,
            ok=True,
        )

    @app.post("/todos/add")
    def add_todo() -> ResponseReturnValue:
        form = TodoForm()
        htmx = request.headers.get("HX-Request") == "true"
        if not form.validate_on_submit():
            context = {
                "form": form,
                "message": "Please correct the errors below.",
                "ok": False,
            }
            if htmx:
                html = render_template("_cpu_hand_form.html", **context)
            else:
                html = render_template("cpu_hand.html", todos=TODOS, **context)
            return no_store(make_response(html, 422))
        keep(TODOS, form.text.data)
        if not htmx:
            flash("Added.")
            return no_store(redirect(url_for("index"), 303))
        html = render_template(
            "_cpu_hand_form.html",
            form=TodoForm(formdata=None),
            message="Added.",
            ok=True,
            focus=True,
        ) + render_template("_cpu_hand_list.html", todos=TODOS, oob=True)
        return no_store(make_response(html))

    return app
