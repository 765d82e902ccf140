"""Forms with lists of lines (``FieldList(FormField(...))``), and ``replace_url``."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint
from flask import make_response
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import FieldList
from wtforms import Form
from wtforms import FormField
from wtforms import IntegerField
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page
from flask_server_actions.forms import field_errors
from flask_server_actions.htmx import replace_url

from .conftest import csrf_token_from

HTMX = {"HX-Request": "true", "HX-Target": "form#lines-save"}


class LineForm(Form):
    qty = IntegerField("Qty", validators=[InputRequired(), NumberRange(0, 9)])


class LinesForm(FlaskForm):
    lines = FieldList(FormField(LineForm))


@pytest.fixture
def saved():
    return [{"qty": 1}, {"qty": 2}, {"qty": 3}]


@pytest.fixture
def app(app, saved):
    bp = Blueprint("lines", __name__)

    @bp.get("/lines")
    def index():
        return render_page("lines.html", saved=saved)

    @action(bp, page=index, form=LinesForm, allow=allow.public)
    def save(form):
        quantities = [entry.qty.data for entry in form.lines]
        if quantities[-1] == 7:
            raise ActionError(
                "Seven is unlucky.", status=422, errors={"lines-2-qty": ["Not 7."]}
            )
        saved[:] = [{"qty": q} for q in quantities]
        return ActionState.success("Saved.")

    app.register_blueprint(bp)
    ServerActions(app)
    return app


def post(client, values, headers=None):
    token = csrf_token_from(client.get("/lines").text)
    data = {"csrf_token": token, "_sa_page": "/lines"}
    data.update({f"lines-{i}-qty": v for i, v in enumerate(values)})
    return client.post("/actions/save", data=data, headers=headers or {})


def tag(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert found, name
    return found.group(0)


def test_action_form_data_fills_a_fresh_form(client):
    html = client.get("/lines").text
    assert 'value="2"' in tag(html, "lines-1-qty")
    assert '<label for="lines-2-qty">Qty 3' in html


def test_nested_errors_are_keyed_by_input_name(client):
    response = post(client, ["1", "x", "12"], {"Accept": "application/json"})
    assert response.status_code == 422
    body = response.get_json()
    assert set(body["errors"]) == {"lines-1-qty", "lines-2-qty"}
    assert body["values"] == {
        "lines-0-qty": "1",
        "lines-1-qty": "x",
        "lines-2-qty": "12",
    }


def test_nested_errors_render_beside_their_line_with_focus(client):
    html = post(client, ["1", "x", "12"], HTMX).text
    assert 'aria-invalid="true"' not in tag(html, "lines-0-qty")
    assert 'aria-invalid="true"' in tag(html, "lines-1-qty")
    assert "autofocus" in tag(html, "lines-1-qty")
    assert "autofocus" not in tag(html, "lines-2-qty")
    assert 'id="lines-2-qty-error"' in html
    assert 'value="x"' in tag(html, "lines-1-qty")


def test_action_error_on_a_nested_input_shows_beside_it(client, saved):
    response = post(client, ["4", "5", "7"], HTMX)
    assert response.status_code == 422
    assert '<ul class="sa-errors" id="lines-2-qty-error"><li>Not 7.</li>' in (
        response.text
    )
    assert saved == [{"qty": 1}, {"qty": 2}, {"qty": 3}]


def test_success_renders_the_fresh_form_from_the_new_data(client, saved):
    response = post(client, ["4", "5", "6"], HTMX)
    assert response.status_code == 200
    assert 'value="6"' in tag(response.text, "lines-2-qty")
    assert saved == [{"qty": 4}, {"qty": 5}, {"qty": 6}]


def test_field_errors_of_a_flat_form(req_ctx):
    form = LineForm(formdata=MultiDict({"qty": "12"}))
    form.validate()
    assert field_errors(form) == {"qty": ["Number must be between 0 and 9."]}


def test_replace_url(req_ctx):
    response = replace_url(make_response(""), "/products?q=lamp")
    assert response.headers["HX-Replace-Url"] == "/products?q=lamp"
    assert replace_url(response, False).headers["HX-Replace-Url"] == "false"
