from __future__ import annotations

import re

import pytest
from flask import Blueprint

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag
from flask_server_actions.binding import sign_arguments

_FIELD = re.compile(r'id="items-delete-item-(\d+)".*?name="_sa_bound" value="([^"]+)"')


@pytest.fixture
def items():
    return [1, 2, 3]


@pytest.fixture
def app(app, items):
    app.config["WTF_CSRF_ENABLED"] = False
    bp = Blueprint("items", __name__)

    @bp.get("/items")
    def index():
        return render_page("items.html", items=lazy(lambda: list(items)))

    @action(bp, page=index, allow=allow.public, bind=("item_id",))
    def delete_item(item_id):
        items.remove(item_id)
        revalidate_tag("items")
        return ActionState.success(f"Item {item_id} deleted.")

    @action(bp, page=index, allow=allow.public, bind=("item_id",))
    def archive_item(item_id):
        items.remove(item_id)
        return ActionState.success("Archived.")

    ServerActions(app)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def tokens(client):
    return dict(_FIELD.findall(client.get("/items").text))


def delete(client, token, form_id="items-delete-item-2", headers=None):
    data = {
        "_sa_bound": token,
        "_sa_page": "/items",
        "_sa_form": form_id,
        "_sa_kind": "button",
    }
    return client.post("/actions/delete-item", data=data, headers=headers or {})


def test_button_is_a_form_that_works_without_javascript(client):
    html = client.get("/items").text
    assert (
        '<form id="items-delete-item-2" class="sa-button-form" action="/actions/delete-item" method="post"'
        in html
    )
    assert 'hx-confirm="Delete it?"' in html


def test_bound_argument_reaches_the_action(client, tokens, items):
    response = delete(client, tokens["2"])
    assert response.status_code == 303
    assert items == [1, 3]
    assert "Item 2 deleted." in client.get("/items").text


def test_htmx_delete_reports_in_place_and_refreshes_the_list(client, tokens, items):
    response = delete(client, tokens["2"], headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#items-delete-item-2-status"
    assert "Item 2 deleted." in response.text
    assert (
        'id="items" data-sa-region data-sa-tags="items" hx-swap-oob="outerHTML"'
        in response.text
    )
    assert items == [1, 3]


def test_tampered_argument_is_refused_and_changes_nothing(client, tokens, items):
    token = tokens["2"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = delete(client, tampered)
    assert response.status_code == 400
    assert "out of date or was changed" in response.text
    assert items == [1, 2, 3]


def test_missing_argument_is_refused(client, items):
    assert delete(client, "").status_code == 400
    assert items == [1, 2, 3]


def test_argument_signed_for_another_action_is_refused(app, client, items):
    with app.test_request_context():
        token = sign_arguments("items.archive_item", {"item_id": 2})
    assert delete(client, token).status_code == 400
    assert items == [1, 2, 3]


@pytest.mark.app_config(SERVER_ACTIONS_BIND_MAX_AGE=-1)
def test_expired_argument_is_refused(app, client, tokens, items):
    assert delete(client, tokens["2"]).status_code == 400
    assert items == [1, 2, 3]


def test_old_secret_still_verifies_after_rotation(app, client, tokens, items):
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "a brand new secret"
    assert delete(client, tokens["2"]).status_code == 303
    assert items == [1, 3]


def test_signature_from_a_dropped_secret_is_refused(app, client, tokens, items):
    app.secret_key = "a brand new secret"
    assert delete(client, tokens["2"]).status_code == 400
    assert items == [1, 2, 3]


def test_json_caller_gets_400_for_tampering(client, items):
    response = delete(client, "nonsense", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json["ok"] is False
    assert items == [1, 2, 3]


def test_direct_call_takes_bound_arguments(app, items):
    with app.app_context():
        state = app.view_functions["items.delete_item"].server_action.call(item_id=3)
    assert state.ok
    assert items == [1, 2]
