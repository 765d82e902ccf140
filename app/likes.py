"""The seeds' like button and a view counter: actions outside forms.

A like is an action called from a button (``action_button``): with JavaScript
htmx posts it and the count updates in place; without, the button is a one-button
form (POST, 303 back to the page). The count goes up in one SQL statement
(``likes = likes + 1``), so concurrent likes are never lost.

A view is counted when the page is viewed (its GET), in the same atomic way, so it
works without JavaScript too. Not counted: ``HEAD`` requests, htmx requests (a
region refreshing itself is not a new view), clients that say they are bots or
tools, and the same browser session again within ``VIEW_WINDOW`` seconds (a
refresh is not a new reader).
"""

from __future__ import annotations

import re
import time

from flask import Blueprint
from flask import request
from flask import session
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import current_htmx
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag

from .models import Counter
from .models import db

bp = Blueprint("likes", __name__)

#: The counter of the demo page; other pages (a blog post) use their own key.
DEMO_KEY = "likes-demo"
#: The shape of a counter key; the key is signed by the server and checked again.
KNOWN_KEY = re.compile(r"^[a-z0-9][a-z0-9:_-]{0,99}$")
#: A browser session counts as a new view of a page again after this long.
VIEW_WINDOW = 30 * 60
_VIEWED = "viewed_at"
_BOTS = re.compile(
    r"bot|crawl|spider|slurp|facebookexternalhit|preview|monitor|curl|wget|"
    r"python-requests|httpx|go-http-client",
    re.IGNORECASE,
)


def likes_tag(key: str) -> str:
    return f"likes:{key}"


def ensure_counter(key: str) -> None:
    """Create the counter row if it is missing, without racing another request."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(Counter).values(key=key, likes=0, views=0).on_conflict_do_nothing()
    )


def get_counter(key: str) -> Counter:
    counter = db.session.get(Counter, key)
    if counter is None:
        ensure_counter(key)
        db.session.commit()
        counter = db.session.get(Counter, key)
    assert counter is not None
    return counter


def _is_bot() -> bool:
    return bool(_BOTS.search(request.headers.get("User-Agent", "")))


def count_view(key: str) -> bool:
    """Count one view of ``key`` for this request, if it is a reader's page view."""
    if request.method != "GET" or current_htmx or _is_bot():
        return False
    now = time.time()
    seen = {
        k: v
        for k, v in dict(session.get(_VIEWED) or {}).items()
        if isinstance(v, (int, float)) and now - v < VIEW_WINDOW
    }
    if key in seen:
        session[_VIEWED] = seen
        return False
    ensure_counter(key)
    db.session.execute(
        update(Counter).where(Counter.key == key).values(views=Counter.views + 1)
    )
    db.session.commit()
    seen[key] = now
    session[_VIEWED] = seen
    return True


@bp.get("/likes")
def index() -> str:
    count_view(DEMO_KEY)
    return render_page("likes/index.html", counter=get_counter(DEMO_KEY))


@action(
    bp,
    page=index,
    allow=allow.public,
    bind=("key",),
    rule="/likes/like",
    max_body="4 KB",
    rate_limit="60/minute",
    # Clicks are queued on purpose (hx-sync "queue all"): a repeat is another like.
    once=False,
)
def like(key: str) -> ActionState:
    """The seed's ``incrementLike``: one more like, atomically."""
    if not isinstance(key, str) or not KNOWN_KEY.match(key):
        raise ActionError("There is nothing to like here.", status=404)
    ensure_counter(key)
    db.session.execute(
        update(Counter).where(Counter.key == key).values(likes=Counter.likes + 1)
    )
    revalidate_tag(likes_tag(key))
    return ActionState.success("Thanks for the like!")
