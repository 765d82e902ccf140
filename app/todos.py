"""The seed's ``useOptimistic`` to-do list: add, tick off and delete, optimistically.

Each list belongs to whoever keeps it: a signed-in user's list is theirs on every
device; a visitor who is not signed in gets a list kept with their browser
session (a random owner token in the signed session cookie), so two visitors
never see each other's items and nobody needs an account to try the page.
"""

from __future__ import annotations

import secrets

from flask import Blueprint
from flask import current_app
from flask import session
from flask_login import current_user
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import update

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

from .forms import TodoForm
from .models import Todo
from .models import db

bp = Blueprint("todos", __name__)

#: Session key of a visitor's owner token.
OWNER_KEY = "todo_owner"
#: The most items one list keeps, so nobody can fill the database.
MAX_TODOS = 100
#: Test-only switch: when true, every to-do action fails after its write (which
#: is then rolled back), so tests can watch an optimistic update being undone.
#: Only test configurations set it; the site never does.
FAIL_FOR_TESTS = "SITE_TODOS_FAIL_FOR_TESTS"


def current_owner() -> str:
    """``user:<id>`` when signed in, else ``session:<token>`` for this browser."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    token = session.get(OWNER_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(16)
        session[OWNER_KEY] = token
    return f"session:{token}"


def drop_visitor_todos() -> None:
    """Delete the to-dos this browser session kept as a visitor (at sign-out).

    A signed-in user's own list belongs to the account and stays.
    """
    token = session.get(OWNER_KEY)
    if isinstance(token, str) and token:
        db.session.execute(delete(Todo).where(Todo.owner == f"session:{token}"))


def owned_todos() -> list[Todo]:
    return list(
        db.session.scalars(
            db.select(Todo).where(Todo.owner == current_owner()).order_by(Todo.id)
        )
    )


def _fail_if_testing() -> None:
    if current_app.config.get(FAIL_FOR_TESTS):
        raise RuntimeError("Test-only failure of a to-do action.")


@bp.get("/todos")
def index() -> str:
    todos = lazy(owned_todos)
    return render_page(
        "todos/index.html",
        todos=todos,
        done_count=lambda: sum(1 for t in todos() if t.done),
        signed_in=current_user.is_authenticated,
    )


@action(
    bp,
    page=index,
    form=TodoForm,
    allow=allow.public,
    rule="/todos/add",
    max_body="8 KB",
    # Adding a todo means the same whenever it arrives: kept while offline.
    offline=True,
)
def add_todo(form: TodoForm) -> ActionState:
    """The seed's ``addTodo``."""
    owner = current_owner()
    count = db.session.scalar(db.select(func.count(Todo.id)).where(Todo.owner == owner))
    if (count or 0) >= MAX_TODOS:
        raise ActionError(
            f"Your list is full ({MAX_TODOS} items). Delete some first.",
            status=409,
            errors={"text": ["The list is full."]},
        )
    todo = Todo(owner=owner, text=form.text.data)
    db.session.add(todo)
    db.session.flush()
    _fail_if_testing()
    revalidate_tag("todos")
    return ActionState.success(f"Added “{todo.text}”.", data={"todo_id": todo.id})


@action(
    bp,
    page=index,
    allow=allow.public,
    bind=("todo_id", "done"),
    rule="/todos/toggle",
    max_body="8 KB",
)
def toggle_todo(todo_id: int, done: bool) -> ActionState:
    """Mark an item done or not done.

    The button carries the state it sets (not "flip"), so a repeated or
    replayed click sets the same state again instead of undoing the first.
    """
    changed = db.session.execute(
        update(Todo)
        .where(Todo.id == todo_id, Todo.owner == current_owner())
        .values(done=bool(done))
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise ActionError("That to-do is not on your list any more.", status=404)
    _fail_if_testing()
    revalidate_tag("todos")
    return ActionState.success("Marked done." if done else "Marked not done.")


@action(
    bp,
    page=index,
    allow=allow.public,
    bind=("todo_id",),
    rule="/todos/delete",
    max_body="8 KB",
)
def delete_todo(todo_id: int) -> ActionState:
    removed = db.session.execute(
        delete(Todo).where(Todo.id == todo_id, Todo.owner == current_owner())
    )
    _fail_if_testing()
    revalidate_tag("todos")
    if not removed.rowcount:  # type: ignore[attr-defined]
        # Deleted already (another tab, a double click): what was wanted is true.
        return ActionState.success("That to-do was already deleted.")
    return ActionState.success("Deleted.")
