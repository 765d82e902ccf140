from __future__ import annotations

from flask import Blueprint
from sqlalchemy.exc import IntegrityError

from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import render_page

from .forms import RequestUsernameForm
from .models import RESERVED_USERNAMES
from .models import ClaimedUsername
from .models import db

bp = Blueprint("username", __name__)


@bp.get("/username")
def index() -> str:
    return render_page("username/index.html")


@action(
    bp,
    page=index,
    form=RequestUsernameForm,
    allow=allow.public,
    rule="/username/request",
)
def request_username(form: RequestUsernameForm) -> ActionState:
    """The seed's ``requestUsername``: claim the name if nobody has it."""
    username = form.username.data
    taken = username in RESERVED_USERNAMES or db.session.get(ClaimedUsername, username)
    if taken:
        return ActionState.failure(
            f"Sorry, “{username}” is taken. Try another one.",
            status=409,
            data={"username": username, "result": "failed"},
        )
    db.session.add(ClaimedUsername(username=username))
    try:
        db.session.flush()
    except IntegrityError:  # someone claimed it a moment earlier
        db.session.rollback()
        return ActionState.failure(
            f"Sorry, “{username}” was just taken. Try another one.",
            status=409,
            data={"username": username, "result": "failed"},
        )
    return ActionState.success(
        f"“{username}” is yours.",
        data={"username": username, "result": "successful"},
    )
