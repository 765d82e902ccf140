"""The toolkit's test client, exercised on the reference site's real actions."""

from __future__ import annotations

import io

import pytest

from app.models import User
from app.models import db
from flask_server_actions.testing import top_level_elements


def user_named(app, name):
    with app.app_context():
        return db.session.scalar(db.select(User).where(User.name == name))


def test_htmx_submit_records_state_fragment_and_regions(app, client):
    result = client.submit(
        "users.create_user", name="Barbara Liskov", email="barbara@example.com"
    )
    assert result.status == 200
    assert result.ok
    assert result.message == "Barbara Liskov was created."
    assert result.fragment.startswith('<form id="users-create-user"')
    assert set(result.regions) == {"user-count", "user-list"}
    assert ">4</span>" in result.regions["user-count"]
    assert "barbara@example.com" in result.regions["user-list"]
    assert "barbara@example.com" not in result.fragment
    assert user_named(app, "Barbara Liskov") is not None


def test_invalid_input_keeps_values_and_errors(client):
    result = client.submit("users.create_user", name="Edsger", email="not an email")
    assert result.status == 422
    assert not result.ok
    assert list(result.errors) == ["email"]
    assert result.values["name"] == "Edsger"
    assert result.regions == {}


def test_plain_browser_gets_a_redirect_to_the_page(client):
    result = client.submit(
        "users.create_user", mode="plain", name="Frances", email="frances@example.com"
    )
    assert result.status == 303
    assert result.redirect == "/users"
    assert "Frances was created." in client.get("/users").text


def test_json_client_gets_the_state(client):
    result = client.submit("users.create_user", mode="json", name="", email="x")
    assert result.status == 422
    assert result.json["ok"] is False
    assert set(result.json["errors"]) == {"name", "email"}


def test_leaving_out_the_csrf_token_is_refused(app, client):
    result = client.submit(
        "users.create_user", name="Mallory", email="m@example.com", csrf_token=None
    )
    assert result.status == 400
    assert "expired" in result.message
    assert user_named(app, "Mallory") is None


def test_act_as_a_user_and_bind_arguments(app, client):
    alan = user_named(app, "Alan Turing")
    signed_out = client.submit("admin.delete_user", bind={"user_id": alan.id})
    # htmx: the button's page sends the user to sign in and back.
    assert signed_out.state.status == 401
    assert signed_out.redirect == "/sign-in?next=%2Fadmin%2Fusers"
    client.act_as(user_named(app, "Ada Lovelace"))
    result = client.submit("admin.delete_user", bind={"user_id": alan.id})
    assert result.ok, result.message
    assert result.message == "Alan Turing was deleted."
    assert "Alan Turing" not in result.regions["admin-user-list"]
    client.act_as(None)
    assert (
        client.submit("admin.delete_user", bind={"user_id": 1}, mode="json").status
        == 401
    )


def test_test_client_user_argument(app):
    grace = user_named(app, "Grace Hopper")
    client = app.test_client(user=grace)
    result = client.submit("admin.delete_user", bind={"user_id": 1})
    assert result.status == 403


def test_unknown_action_names_the_known_ones(client):
    with pytest.raises(LookupError, match=r"users\.create_user"):
        client.submit("users.nope")


def test_csrf_token_is_minted_for_the_clients_session(client):
    token = client.csrf_token()
    response = client.post(
        "/users/create",
        data={"csrf_token": token, "name": "Niklaus", "email": "nw@example.com"},
    )
    assert response.status_code == 303


def test_files_are_sent_as_multipart(client):
    # The contact form has no file field: the upload is simply ignored,
    # which proves the body went out as multipart and was still understood.
    result = client.submit(
        "contact.send_message",
        name="Ann",
        email="ann@example.com",
        message="A message with an attachment.",
        attachment=(io.BytesIO(b"hello"), "hello.txt"),
    )
    assert result.ok, result.message


def test_action_client_fixture_comes_with_the_plugin(action_client):
    result = action_client.submit("users.create_user", name="", email="")
    assert result.status == 422


def test_top_level_elements_keep_exact_source():
    html = (
        '<form id="f"><input name="a"><p>x<br></p></form>\n'
        '<span id="n" hx-swap-oob="outerHTML">4</span><img src="i.png" id="i">'
        "<br/>"
    )
    found = top_level_elements(html)
    assert [e.tag for e in found] == ["form", "span", "img", "br"]
    assert found[0].html == '<form id="f"><input name="a"><p>x<br></p></form>'
    assert found[1].id == "n"
    assert found[1].html == '<span id="n" hx-swap-oob="outerHTML">4</span>'
    assert found[2].html == '<img src="i.png" id="i">'
