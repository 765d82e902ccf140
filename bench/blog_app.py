"""The revalidation benchmark's app: a blog page whose regions come from the
fragment cache or from the database, and one action with and without revalidation.

The data layer is SQLite in memory. ``QUERY_DELAY`` (seconds, set by the
benchmark) is slept before every read query, to stand in for the round trip
and work of a real database server; SQLite itself answers in microseconds.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask import Flask
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import InputRequired
from wtforms.validators import Length

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_path
from flask_server_actions import revalidate_tag

#: Seconds slept before each query, read or write (the benchmark sets it).
QUERY_DELAY = 0.0
#: How many queries have run, so the benchmark can add their database time to
#: the CPU time it measures.
QUERIES = 0
_db = sqlite3.connect(":memory:", check_same_thread=False)
_lock = threading.Lock()


def _read(sql: str, *params: Any) -> list[sqlite3.Row]:
    global QUERIES
    QUERIES += 1
    if QUERY_DELAY:
        time.sleep(QUERY_DELAY)
    with _lock:
        return list(_db.execute(sql, params))


def _write(sql: str, *params: Any) -> None:
    global QUERIES
    QUERIES += 1
    if QUERY_DELAY:
        time.sleep(QUERY_DELAY)
    with _lock:
        _db.execute(sql, params)
        _db.commit()


def setup_database(posts: int = 200) -> None:
    global QUERY_DELAY
    QUERY_DELAY = 0.0
    _db.row_factory = sqlite3.Row
    _db.executescript(
        """
        DROP TABLE IF EXISTS posts;
        CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, slug TEXT UNIQUE,
            author TEXT, body TEXT, views INTEGER, created_at TEXT);
        CREATE INDEX posts_views ON posts (views);
        """
    )
    for i in range(posts):
        _write(
            "INSERT INTO posts (title, slug, author, body, views, created_at)"
            " VALUES (?, ?, ?, ?, ?, datetime('now'))",
            f"Post number {i}",
            f"post-number-{i}",
            "Ada Lovelace",
            "Some text. " * 50,
            (i * 7919) % 1000,
        )


def recent_posts() -> list[sqlite3.Row]:
    return _read(
        "SELECT title, slug, author, created_at FROM posts ORDER BY id DESC LIMIT 20"
    )


def popular_posts() -> list[sqlite3.Row]:
    return _read("SELECT title, slug, views FROM posts ORDER BY views DESC LIMIT 5")


def post_count() -> int:
    return int(_read("SELECT count(*) FROM posts")[0][0])


class PostForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(min=3, max=120)])
    body = TextAreaField("Text", validators=[InputRequired(), Length(max=10_000)])


bp = Blueprint("blog", __name__)


def _page(ttl: int | None, action: str = "revalidating") -> str:
    return render_page(
        "blog_page.html",
        ttl=ttl,
        action=action,
        recent=lazy(recent_posts),
        popular=lazy(popular_posts),
        count=lazy(post_count),
    )


@bp.get("/blog")
def cached_page() -> str:
    """Every region kept in the fragment cache for an hour."""
    return _page(3600)


@bp.get("/blog-db")
def database_page() -> str:
    """The same page with every region rendered from the database."""
    return _page(None)


@bp.get("/read")
def read_cached() -> str:
    """The page as a reader sees it (no form), every region from the cache."""
    return _page(3600, "none")


@bp.get("/read-db")
def read_database() -> str:
    """The same reader's page with every region rendered from the database."""
    return _page(None, "none")


@bp.get("/blog-quiet")
def quiet_page() -> str:
    """The cached page with the form of the action that revalidates nothing."""
    return _page(3600, "quiet")


@bp.get("/blog-elsewhere")
def elsewhere_page() -> str:
    """The cached page with the form of the action that revalidates another tag."""
    return _page(3600, "elsewhere")


def _store(form: PostForm) -> None:
    _write(
        "INSERT INTO posts (title, slug, author, body, views, created_at)"
        " VALUES (?, ?, ?, ?, 0, datetime('now'))",
        form.title.data,
        f"p-{time.perf_counter_ns()}",
        "Bench",
        form.body.data,
    )


@action(bp, page=cached_page, form=PostForm, allow=allow.public, rule="/blog/add")
def add_post(form: PostForm) -> ActionState:
    """Store, then revalidate: the stale regions come back out of band."""
    _store(form)
    revalidate_path("/blog")
    revalidate_tag("posts")
    return ActionState.success("Published.")


@action(
    bp, page=quiet_page, form=PostForm, allow=allow.public, rule="/blog/add-quietly"
)
def add_post_quietly(form: PostForm) -> ActionState:
    """The same action without revalidation: only the form comes back."""
    _store(form)
    return ActionState.success("Published.")


@action(
    bp, page=elsewhere_page, form=PostForm, allow=allow.public, rule="/blog/comment"
)
def add_comment(form: PostForm) -> ActionState:
    """The same action revalidating a tag no region of the page shows.

    The generation bump, the stale bookkeeping and the out-of-band pass over
    the page's regions all run, but no region renders: the toolkit's own cost.
    """
    _store(form)
    revalidate_tag("comments")
    return ActionState.success("Published.")


def create_app() -> Flask:
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.config.update(SECRET_KEY="bench", WTF_CSRF_ENABLED=True)
    ServerActions(app)
    app.register_blueprint(bp)
    setup_database()
    return app
