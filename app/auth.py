"""Sign in and sign out, with Flask-Login; both are server actions too."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import request
from flask import session
from flask_login import LoginManager
from flask_login import login_user
from flask_login import logout_user
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import local_path
from flask_server_actions import redirect_to
from flask_server_actions import render_page

from .cart import drop_cart
from .forms import SignInForm
from .models import User
from .models import db
from .todos import drop_visitor_todos

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "error"

# Compared against when the email is unknown, so both failures take as long.
_DUMMY_HASH = generate_password_hash("no account has this password")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a local path only, never another site."""
    return local_path(value) or "/"


@bp.get("/sign-in")
def sign_in_page() -> str:
    return render_page(
        "auth/sign_in.html", next_path=safe_next(request.args.get("next"))
    )


@action(
    bp,
    page=sign_in_page,
    form=SignInForm,
    allow=allow.public,
    rule="/sign-in",
    # Slows password guessing: a breach answers 429 in the form. Counted per
    # address and per account tried, so neither many accounts from one address
    # nor one account from many addresses gets more guesses.
    rate_limit=lambda: str(current_app.config["SITE_SIGN_IN_RATE_LIMIT"]),
    rate_limit_by=("address", "field:email"),
)
def sign_in(form: SignInForm) -> ActionState:
    user = db.session.scalar(db.select(User).where(User.email == form.email.data))
    hashed = (
        user.password_hash.reveal()
        if user is not None and user.password_hash is not None
        else _DUMMY_HASH
    )
    password_ok = check_password_hash(hashed, form.password.data)
    if user is None or user.password_hash is None or not password_ok:
        raise ActionError(
            "That email and password do not match an account.", status=400
        )
    login_user(user)
    return redirect_to(safe_next(form.next.data), message=f"Welcome back, {user.name}.")


@action(bp, allow=allow.signed_in, rule="/sign-out")
def sign_out() -> ActionState:
    """Sign out and forget this browser session, as a shared computer needs.

    The cart and a visitor's to-dos belong to the browser session, not the
    account, so the next person at this browser would find them: they are
    deleted (in the action's transaction) and the session is cleared. Only the
    CSRF secret stays (flask-wtf keeps it under ``WTF_CSRF_FIELD_NAME``), as
    Django keeps its CSRF cookie at logout: a form still open in another tab
    then answers "please sign in" instead of "this form expired". The
    account's own to-dos stay with the account.
    """
    drop_cart()
    drop_visitor_todos()
    logout_user()
    csrf_key = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    kept = {csrf_key: session[csrf_key]} if csrf_key in session else {}
    session.clear()
    session.update(kept)
    return redirect_to("home.index", message="You are signed out.")
