"""/todos: the seed's useOptimistic list, server side (issue 5)."""

from __future__ import annotations

import pytest

from app.models import Todo
from app.models import db

from .conftest import MEMBER
from .conftest import sign_in


def add(client, text, mode="htmx"):
    return client.submit("todos.add_todo", mode=mode, text=text)


def press(client, todo_id, kind, mode="htmx", **options):
    """Press the item's toggle or delete button as the page renders it."""
    return client.submit(
        f"todos.{kind}_todo", mode=mode, form_id=f"todo-{todo_id}-{kind}", **options
    )


def todos(app):
    with app.app_context():
        return [
            (t.id, t.text, t.done, t.owner)
            for t in db.session.scalars(db.select(Todo).order_by(Todo.id))
        ]


def only_id(app):
    ((todo_id, *_),) = todos(app)
    return todo_id


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
    result = add(client, "Water the plants")
    assert result.status == 200
    assert result.response.headers["Cache-Control"] == "no-store"
    assert result.message == "Added “Water the plants”."
    assert 'value=""' in result.fragment.split('name="text"')[1].split(">")[0]  # reset
    assert "Water the plants" in result.regions["todo-list"]
    assert "0 of 1 done" in result.regions["todo-summary"]
    assert [t[1:3] for t in todos(app)] == [("Water the plants", False)]


def test_add_plain_redirects_and_shows_the_trimmed_item(client):
    result = add(client, "  Call the bank  ", mode="plain")
    assert (result.status, result.redirect) == (303, "/todos")
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
@pytest.mark.parametrize("mode", ["htmx", "plain"])
def test_add_invalid_is_422_in_the_form_with_input_kept(
    app, client, text, message, mode
):
    result = add(client, text, mode=mode)
    assert result.status == 422
    assert result.errors["text"] == [message]
    assert 'aria-invalid="true"' in result.text
    if text.strip():
        assert f'value="{text}"' in result.text
    if mode == "plain":
        assert "<h1>To-do list</h1>" in result.text  # the whole page
    assert todos(app) == []


def test_add_is_escaped(client):
    add(client, '<img src=x onerror="alert(1)">')
    page = client.get("/todos").text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_add_too_large_body_is_413_and_saves_nothing(app, client):
    result = add(client, "x" * 9000)
    assert result.status == 413
    assert "larger than this form accepts" in result.text
    assert todos(app) == []


def test_failure_switch_rolls_back_the_write(app, client):
    app.config["SITE_TODOS_FAIL_FOR_TESTS"] = True
    result = add(client, "Will not stay")
    assert result.status == 500
    assert "Something went wrong on our side, so nothing was saved." in result.text
    assert 'value="Will not stay"' in result.text
    assert todos(app) == []


def test_visitors_each_get_their_own_list(app):
    first, second = app.test_client(), app.test_client()
    add(first, "First visitor item")
    add(second, "Second visitor item")
    page = first.get("/todos").text
    assert "First visitor item" in page
    assert "Second visitor item" not in page
    assert todos(app)[0][3].startswith("session:")


def test_a_signed_in_list_belongs_to_the_account(app, client):
    add(app.test_client(), "Visitor item")
    sign_in(client, *MEMBER)
    add(client, "Grace item")
    page = client.get("/todos").text
    assert "Grace item" in page
    assert "Visitor item" not in page
    assert "This list belongs to your account." in page
    assert {t[1]: t[3] for t in todos(app)}["Grace item"] == "user:2"


def test_toggle_marks_the_item_done(app, client):
    add(client, "Ship it")
    result = press(client, only_id(app), "toggle")
    assert result.status == 200
    assert result.message == "Marked done."
    assert "1 of 1 done" in result.text
    assert 'aria-pressed="true"' in result.text
    assert todos(app)[0][2] is True


def test_a_repeated_toggle_sets_the_same_state_again(app, client):
    add(client, "Ship it")
    todo_id = only_id(app)
    # The button carries the state it sets, so pressing the same one twice
    # (a stale tab, a replay) keeps it done: no flip-flop.
    press(client, todo_id, "toggle", bind={"todo_id": todo_id, "done": True})
    press(client, todo_id, "toggle", bind={"todo_id": todo_id, "done": True})
    assert todos(app)[0][2] is True


def test_the_fresh_toggle_button_marks_it_not_done(app, client):
    add(client, "Ship it")
    todo_id = only_id(app)
    press(client, todo_id, "toggle")
    result = press(client, todo_id, "toggle", mode="plain")
    assert (result.status, result.redirect) == (303, "/todos")
    assert todos(app)[0][2] is False


def test_toggle_failure_changes_nothing(app, client):
    add(client, "Stay open")
    todo_id = only_id(app)
    app.config["SITE_TODOS_FAIL_FOR_TESTS"] = True
    result = press(client, todo_id, "toggle")
    assert result.status == 500
    assert result.hx["retarget"] == f"#todo-{todo_id}-toggle-status"
    assert todos(app)[0][2] is False


def test_delete_removes_the_item(app, client):
    add(client, "Gone soon")
    result = press(client, only_id(app), "delete")
    assert result.status == 200
    assert result.message == "Deleted."
    assert "Gone soon" not in result.text
    assert todos(app) == []


def test_deleting_twice_says_it_is_already_deleted(app, client):
    add(client, "Gone soon")
    todo_id = only_id(app)
    press(client, todo_id, "delete")
    # The same button from another tab: what was wanted is true, so a success.
    again = press(client, todo_id, "delete", bind={"todo_id": todo_id})
    assert again.status == 200
    assert again.message == "That to-do was already deleted."


def test_delete_failure_keeps_the_item(app, client):
    add(client, "Keep me")
    app.config["SITE_TODOS_FAIL_FOR_TESTS"] = True
    assert press(client, only_id(app), "delete", mode="plain").status == 500
    assert [t[1] for t in todos(app)] == ["Keep me"]


def test_someone_elses_item_cannot_be_touched(app, client):
    add(client, "Mine")
    todo_id = only_id(app)
    stranger = app.test_client()
    result = press(stranger, todo_id, "toggle", bind={"todo_id": todo_id, "done": True})
    assert result.status == 404
    assert result.message == "That to-do is not on your list any more."
    assert todos(app)[0][2] is False


def test_tampered_button_is_refused(app, client):
    add(client, "Mine")
    result = press(client, only_id(app), "delete", _sa_bound="forged.value.sig")
    assert result.status == 400
    assert len(todos(app)) == 1


def test_the_list_is_capped(app, client, monkeypatch):
    from app import todos as todos_module

    monkeypatch.setattr(todos_module, "MAX_TODOS", 2)
    add(client, "one")
    add(client, "two")
    result = add(client, "three")
    assert result.status == 409
    assert result.message == "Your list is full (2 items). Delete some first."
    assert result.errors == {"text": ["The list is full."]}
    assert [t[1] for t in todos(app)] == ["one", "two"]
