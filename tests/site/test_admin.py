from __future__ import annotations

import re

import pytest

from app.models import User
from app.models import db

from .conftest import ADMIN
from .conftest import MEMBER
from .conftest import sign_in

_BUTTON = re.compile(
    r'id="admin-delete-user-(\d+)".*?name="csrf_token" value="([^"]+)".*?name="_sa_bound" value="([^"]+)"'
)


def buttons(client):
    """{user_id: (csrf token, signed user id)} from the admin page."""
    return {
        int(uid): (csrf, bound)
        for uid, csrf, bound in _BUTTON.findall(client.get("/admin/users").text)
    }


def user_ids(app):
    with app.app_context():
        return set(db.session.scalars(db.select(User.id)))


def delete(client, csrf, bound, user_id, headers=None):
    data = {
        "csrf_token": csrf,
        "_sa_bound": bound,
        "_sa_page": "/admin/users",
        "_sa_form": f"admin-delete-user-{user_id}",
        "_sa_kind": "button",
    }
    return client.post("/admin/users/delete", data=data, headers=headers or {})


@pytest.fixture
def admin(client):
    sign_in(client, *ADMIN)
    return client


def test_admin_page_needs_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.location.startswith("/sign-in?next=")


def test_admin_page_forbidden_for_members(client):
    sign_in(client, *MEMBER)
    assert client.get("/admin/users").status_code == 403


def test_admin_deletes_a_user_and_list_is_revalidated(app, admin):
    csrf, bound = buttons(admin)[3]
    response = delete(admin, csrf, bound, 3, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Alan Turing was deleted." in response.text
    region = response.text.split('<div id="admin-user-list"', 1)[1]
    assert 'hx-swap-oob="outerHTML"' in region.split(">", 1)[0]
    assert "alan@example.com" not in region
    assert 3 not in user_ids(app)


def test_admin_delete_plain_redirects_with_message(app, admin):
    csrf, bound = buttons(admin)[3]
    response = delete(admin, csrf, bound, 3)
    assert response.status_code == 303
    assert "Alan Turing was deleted." in admin.get("/admin/users").text


def test_admin_cannot_delete_themselves(app, admin):
    csrf, bound = buttons(admin)[1]
    response = delete(admin, csrf, bound, 1, headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "You cannot delete yourself." in response.text
    assert 1 in user_ids(app)


def test_member_cannot_delete(app, client):
    sign_in(client, *ADMIN)
    csrf, bound = buttons(client)[3]
    client.post("/sign-out", data={"csrf_token": csrf})
    sign_in(client, *MEMBER)
    response = delete(client, csrf, bound, 3, headers={"Accept": "application/json"})
    assert response.status_code in (
        400,
        403,
    )  # the CSRF token belonged to another session
    assert 3 in user_ids(app)


def test_member_with_own_token_gets_403(app, client):
    sign_in(client, *ADMIN)
    _, bound = buttons(client)[3]
    client.get("/")
    from tests.conftest import csrf_token_from

    client.post("/sign-out", data={"csrf_token": csrf_token_from(client.get("/").text)})
    sign_in(client, *MEMBER)
    csrf = csrf_token_from(client.get("/users").text)
    response = delete(client, csrf, bound, 3, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json["message"] == "You are not allowed to do this."
    assert 3 in user_ids(app)


def test_anonymous_delete_is_401_and_plain_goes_to_sign_in(app, client):
    sign_in(client, *ADMIN)
    _, bound = buttons(client)[3]
    from tests.conftest import csrf_token_from

    client.post("/sign-out", data={"csrf_token": csrf_token_from(client.get("/").text)})
    csrf = csrf_token_from(client.get("/users").text)
    json = delete(client, csrf, bound, 3, headers={"Accept": "application/json"})
    assert json.status_code == 401
    plain = delete(client, csrf, bound, 3)
    assert plain.status_code == 303
    assert plain.location.startswith("/sign-in?next=%2Fadmin%2Fusers")
    assert 3 in user_ids(app)


def test_tampered_user_id_is_refused(app, admin):
    csrf, bound = buttons(admin)[3]
    other = buttons(admin)[2][1]
    response = delete(admin, csrf, bound[:-4] + other[-4:], 3)
    assert response.status_code == 400
    assert user_ids(app) == {1, 2, 3}


def test_delete_directly_as_admin(app):
    from app.admin import delete_user

    with app.app_context():
        admin = db.session.get(User, 1)
        state = delete_user.call(user_id=2, user=admin)
        assert state.ok
        member = db.session.get(User, 3)
        assert delete_user.call(user_id=1, user=member).status == 403
