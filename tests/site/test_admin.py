"""The seed's deleteUser on /admin/users: admins only, never yourself, list revalidated."""

from __future__ import annotations

import pytest

from app.models import User
from app.models import db

from .conftest import ADMIN
from .conftest import MEMBER
from .conftest import sign_in


def user_ids(app):
    with app.app_context():
        return set(db.session.scalars(db.select(User.id)))


def delete(client, user_id, **options):
    return client.submit("admin.delete_user", bind={"user_id": user_id}, **options)


@pytest.fixture
def admin(client):
    sign_in(client, *ADMIN)
    return client


@pytest.fixture
def member(client):
    sign_in(client, *MEMBER)
    return client


def test_the_page_needs_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.location.startswith("/sign-in?next=")


def test_the_page_is_forbidden_for_members(member):
    assert member.get("/admin/users").status_code == 403


def test_admin_deletes_a_user_and_the_list_is_revalidated(app, admin):
    result = delete(admin, 3)
    assert result.status == 200
    assert result.message == "Alan Turing was deleted."
    assert "alan@example.com" not in result.regions["admin-user-list"]
    assert 3 not in user_ids(app)


def test_without_javascript_the_delete_asks_first_then_redirects_with_the_message(
    app, admin
):
    asked = delete(admin, 3, mode="plain")
    assert asked.status == 200
    assert asked.asks_to_confirm
    assert "Delete Alan Turing?" in asked.text
    assert 3 in user_ids(app)
    result = asked.confirm()
    assert result.status == 303
    assert 3 not in user_ids(app)
    assert "Alan Turing was deleted." in admin.get("/admin/users").text


def test_admin_cannot_delete_themselves(app, admin):
    result = delete(admin, 1)
    assert result.status == 409
    assert result.message == "You cannot delete yourself."
    assert 1 in user_ids(app)


def test_a_member_gets_403(app, member):
    result = delete(member, 3, mode="json")
    assert result.status == 403
    assert result.message == "You are not allowed to do this."
    assert 3 in user_ids(app)


def test_a_token_from_another_session_is_refused(app, admin, client):
    stolen = admin.csrf_token()
    other = app.test_client()
    sign_in(other, *MEMBER)
    result = delete(other, 3, csrf_token=stolen)
    assert result.status == 400
    assert 3 in user_ids(app)


def test_signed_out_is_401_and_plain_goes_to_sign_in(app, client):
    assert delete(client, 3, mode="json").status == 401
    plain = delete(client, 3, mode="plain")
    assert plain.status == 303
    assert plain.redirect.startswith("/sign-in?next=%2Fadmin%2Fusers")
    assert 3 in user_ids(app)


def test_a_tampered_user_id_is_refused(app, admin):
    with app.test_request_context():
        from flask_server_actions.binding import sign_arguments

        signed = sign_arguments("admin.delete_user", {"user_id": 3})
    result = delete(admin, 3, _sa_bound=signed[:-4] + "AAAA")
    assert result.status == 400
    assert user_ids(app) == {1, 2, 3}


def test_an_argument_signed_for_another_action_is_refused(app, admin):
    with app.test_request_context():
        from flask_server_actions.binding import sign_arguments

        elsewhere = sign_arguments("users.create_user", {"user_id": 3})
    assert delete(admin, 3, _sa_bound=elsewhere).status == 400
    assert user_ids(app) == {1, 2, 3}


def test_delete_called_from_python(app):
    from app.admin import delete_user

    with app.app_context():
        admin = db.session.get(User, 1)
        assert delete_user.call(user_id=2, user=admin).ok
        member = db.session.get(User, 3)
        assert delete_user.call(user_id=1, user=member).status == 403
