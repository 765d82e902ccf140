"""/todos: the seed's useOptimistic list, server side (issue 5)."""

from __future__ import annotations

import re

import pytest

from app.models import Todo
from app.models import db
from tests.conftest import csrf_token_from

from .conftest import MEMBER
from .conftest import sign_in

HTMX = {"HX-Request": "true", "HX-Target": "form#todos-add-todo"}
_BUTTON = re.compile(
    r'<form id="todo-(\d+)-(toggle|delete)".*?name="_sa_bound" value="([^"]+)"'
)


def add(client, text, headers=None, **extra):
    token = csrf_token_from(client.get("/todos").text)
    data = {
        "csrf_token": token,
        "_sa_page": "/todos",
        "_sa_form": "todos-add-todo",
        "text": text,
        **extra,
    }
    return client.post("/todos/add", data=data, headers=headers or {})


def buttons(client):
    """{(todo_id, "toggle"|"delete"): signed arguments} from the page."""
    return {
        (int(i), kind): bound
        for i, kind, bound in _BUTTON.findall(client.get("/todos").text)
    }


def press(client, todo_id, kind, headers=None, bound=None):
    page = client.get("/todos").text
    data = {
        "csrf_token": csrf_token_from(page),
        "_sa_page": "/todos",
        "_sa_form": f"todo-{todo_id}-{kind}",
        "_sa_kind": "button",
        "_sa_bound": bound or buttons(client)[(todo_id, kind)],
    }
    return client.post(f"/todos/{kind}", data=data, headers=headers or {})


def todos(app):
    with app.app_context():
        return [
            (t.text, t.done, t.owner)
            for t in db.session.scalars(db.select(Todo).order_by(Todo.id))
        ]


def test_empty_list_explains_itself(client):
    page = client.get("/todos").text
    assert "Nothing to do yet" in page
    assert 'data-sa-optimistic="todo-optimistic"' in page
    # The optimistic template fills the text as text, in the list it names.
    template = page.split('<template id="todo-optimistic"', 1)[1].split("</template>")[
        0
    ]
    assert 'data-sa-into="#todo-items"' in template
    assert 'data-sa-value="text"' in template


def test_add_htmx_returns_fresh_form_and_list_out_of_band(app, client):
    response = add(client, "Water the plants", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    form, rest = response.text.split("</form>", 1)
    assert "Added “Water the plants”." in form
    assert 'value=""' in form.split('name="text"')[1].split(">")[0]  # reset
    assert '<div id="todo-list"' in rest and 'hx-swap-oob="outerHTML"' in rest
    assert "Water the plants" in rest
    assert "0 of 1 done" in rest
    assert [t[:2] for t in todos(app)] == [("Water the plants", False)]


def test_add_plain_redirects_and_shows_the_item(app, client):
    response = add(client, "  Call the bank  ")
    assert response.status_code == 303
    assert response.location == "/todos"
    page = client.get("/todos").text
    assert "Added “Call the bank”." in page
    assert '<span class="todo__text">Call the bank</span>' in page


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write what there is to do."),
        ("    ", "Write what there is to do."),
        ("x" * 201, "Keep it to 200 characters or fewer (this one has 201)."),
    ],
)
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_add_invalid_is_422_in_the_form_with_input_kept(
    app, client, text, message, headers
):
    response = add(client, text, headers=headers)
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    if text.strip():
        assert f'value="{text}"' in response.text
    if not headers:
        assert "<h1>To-do list</h1>" in response.text  # the whole page
    assert todos(app) == []


def test_add_is_escaped(client):
    add(client, '<img src=x onerror="alert(1)">')
    page = client.get("/todos").text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_add_too_large_body_is_413_and_saves_nothing(app, client):
    response = add(client, "x" * 9000, headers=HTMX)
    assert response.status_code == 413
    assert "larger than this form accepts" in response.text
    assert todos(app) == []


def test_failure_switch_rolls_back_the_write(app, client):
    app.config["SITE_TODOS_FAIL_FOR_TESTS"] = True
    response = add(client, "Will not stay", headers=HTMX)
    assert response.status_code == 500
    assert "Something went wrong on our side, so nothing was saved." in response.text
    assert 'value="Will not stay"' in response.text
    assert todos(app) == []


def test_lists_are_per_session_and_per_user(app):
    first, second = app.test_client(), app.test_client()
    add(first, "First visitor item")
    add(second, "Second visitor item")
    assert "First visitor item" in first.get("/todos").text
    assert "Second visitor item" not in first.get("/todos").text
    member = app.test_client()
    sign_in(member, *MEMBER)
    add(member, "Grace item")
    page = member.get("/todos").text
    assert "Grace item" in page and "visitor item" not in page
    assert "This list belongs to your account." in page
    owners = {t[0]: t[2] for t in todos(app)}
    assert owners["Grace item"] == "user:2"
    assert owners["First visitor item"].startswith("session:")


def test_toggle_sets_the_state_it_carries(app, client):
    add(client, "Ship it")
    ((todo_id, _),) = {k for k in buttons(client) if k[1] == "toggle"}
    bound_done = buttons(client)[(todo_id, "toggle")]
    response = press(client, todo_id, "toggle", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "1 of 1 done" in response.text
    assert 'aria-pressed="true"' in response.text
    assert todos(app)[0][1] is True
    # Replaying the same (done=True) button again keeps it done: no flip-flop.
    press(client, todo_id, "toggle", bound=bound_done)
    assert todos(app)[0][1] is True
    # The fresh button now says "not done".
    assert press(client, todo_id, "toggle").status_code == 303
    assert todos(app)[0][1] is False


def test_toggle_failure_changes_nothing(app, client):
    add(client, "Stay open")
    ((todo_id, _),) = {k for k in buttons(client) if k[1] == "toggle"}
    app.config["SITE_TODOS_FAIL_FOR_TESTS"] = True
    response = press(client, todo_id, "toggle", headers={"HX-Request": "true"})
    assert response.status_code == 500
    assert response.headers["HX-Retarget"] == f"#todo-{todo_id}-toggle-status"
    assert todos(app)[0][1] is False


def test_delete_and_delete_again(app, client):
    add(client, "Gone soon")
    ((todo_id, _),) = {k for k in buttons(client) if k[1] == "delete"}
    bound = buttons(client)[(todo_id, "delete")]
    response = press(client, todo_id, "delete", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Gone soon" not in response.text
    assert todos(app) == []
    again = press(
        client, todo_id, "delete", headers={"HX-Request": "true"}, bound=bound
    )
    assert again.status_code == 200
    assert "already deleted" in again.text


def test_delete_failure_keeps_the_item(app, client):
    add(client, "Keep me")
    ((todo_id, _),) = {k for k in buttons(client) if k[1] == "delete"}
    app.config["SITE_TODOS_FAIL_FOR_TESTS"] = True
    assert press(client, todo_id, "delete").status_code == 500
    assert [t[0] for t in todos(app)] == ["Keep me"]


def test_someone_elses_item_cannot_be_touched(app, client):
    add(client, "Mine")
    ((todo_id, _),) = {k for k in buttons(client) if k[1] == "toggle"}
    bound = buttons(client)[(todo_id, "toggle")]
    stranger = app.test_client()
    stranger.get("/todos")
    response = press(
        stranger, todo_id, "toggle", headers={"HX-Request": "true"}, bound=bound
    )
    assert response.status_code == 404
    assert "not on your list" in response.text
    assert todos(app)[0][1] is False


def test_tampered_button_is_refused(app, client):
    add(client, "Mine")
    ((todo_id, _),) = {k for k in buttons(client) if k[1] == "delete"}
    response = press(client, todo_id, "delete", bound="forged.value.sig")
    assert response.status_code == 400
    assert len(todos(app)) == 1


def test_the_list_is_capped(app, client, monkeypatch):
    from app import todos as todos_module

    monkeypatch.setattr(todos_module, "MAX_TODOS", 2)
    add(client, "one")
    add(client, "two")
    response = add(client, "three", headers=HTMX)
    assert response.status_code == 409
    assert "Your list is full" in response.text
    assert [t[0] for t in todos(app)] == ["one", "two"]
