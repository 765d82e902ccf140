"""The seeds' blog: ``createPost`` with path and tag revalidation, and a cached
"popular posts" box (``unstable_cache(getPopularPosts, ["popular-posts"],
{revalidate: 3600})``) that still shows a new post at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata

from flask import Blueprint
from flask import abort
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import cached
from flask_server_actions import lazy
from flask_server_actions import redirect_to
from flask_server_actions import render_page
from flask_server_actions import revalidate_path
from flask_server_actions import revalidate_tag

from .forms import strip
from .models import Post
from .models import User
from .models import db

bp = Blueprint("posts", __name__)

#: The tag of everything that shows posts: the list and the popular box.
POSTS_TAG = "posts"
#: They show author names too, so deleting an account (tag ``users``) refreshes them.
SHOWN_TAGS = [POSTS_TAG, "users"]
#: How long the popular box and the list are kept: the seed's ``revalidate: 3600``.
ONE_HOUR = 3600
#: How many posts the "Most read" part of the popular box shows.
MOST_READ = 5
_SLUG_MAX = 80


class PostForm(FlaskForm):
    """The seed's ``createPost`` fields: a title and the text."""

    # DataRequired, not InputRequired: it checks the stripped value, so a title
    # of spaces is told to add a title rather than that it is too short.
    title = StringField(
        "Title",
        description="3 to 120 characters.",
        validators=[
            DataRequired("Give your post a title."),
            Length(
                min=3, max=120, message="The title must be 3 to 120 characters long."
            ),
        ],
        filters=[strip],
    )
    body = TextAreaField(
        "Text",
        description="20 to 10,000 characters.",
        validators=[
            DataRequired("Write the text of your post."),
            Length(
                min=20,
                max=10_000,
                message="The text must be 20 to 10,000 characters long.",
            ),
        ],
        filters=[strip],
    )


@dataclasses.dataclass(frozen=True)
class PostCard:
    """What a list or the popular box shows of a post (plain data, so it pickles)."""

    title: str
    slug: str
    author: str
    views: int
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Popular:
    """The popular box: the newest post, and the most read of the others."""

    newest: PostCard | None
    most_read: list[PostCard]


def _cards(limit: int, *order: object) -> list[PostCard]:
    rows = db.session.execute(
        db.select(Post, User.name)
        .outerjoin(User, User.id == Post.author_id)
        .order_by(*order)
        .limit(limit)
    )
    return [
        PostCard(
            title=post.title,
            slug=post.slug,
            author=name or "a former member",
            views=post.views,
            created_at=post.created_at,
        )
        for post, name in rows
    ]


def recent_posts(limit: int = 50) -> list[PostCard]:
    return _cards(limit, Post.id.desc())


@cached(tags=SHOWN_TAGS, ttl=ONE_HOUR, key="site.posts.popular")
def popular_posts() -> Popular:
    """The popular box, computed at most once an hour unless ``posts`` is revalidated.

    "Most read" ranks by views, which the box shows as they were when it was
    computed (the seed's trade-off). The newest post gets its own line, so a
    post is in the box the moment ``createPost`` revalidates the tag.
    """
    newest = _cards(1, Post.id.desc())
    most_read = _cards(
        MOST_READ + 1, Post.views.desc(), Post.id.desc()
    )  # one extra in case the newest is among them
    first = newest[0] if newest else None
    return Popular(
        newest=first,
        most_read=[card for card in most_read if card != first][:MOST_READ],
    )


def slugify(title: str) -> str:
    """``"Hello, Wörld!"`` → ``"hello-world"``; ``"post"`` when nothing is left."""
    ascii_title = (
        unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:_SLUG_MAX].rstrip("-") or "post"


def unique_slug(base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever no post has yet."""
    taken = set(
        db.session.scalars(
            db.select(Post.slug).where(
                or_(Post.slug == base, Post.slug.like(f"{base}-%"))
            )
        )
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


@bp.get("/posts")
def index() -> str:
    return render_page(
        "posts/index.html", posts=lazy(recent_posts), popular=lazy(popular_posts)
    )


@bp.get("/posts/<slug>")
def show(slug: str) -> str:
    row = db.session.execute(
        db.select(Post, User.name)
        .outerjoin(User, User.id == Post.author_id)
        .where(Post.slug == slug)
    ).first()
    if row is None:
        abort(404)
    post, author = row
    # Counted, never revalidated: the popular box catches up within the hour.
    db.session.execute(
        update(Post).where(Post.id == post.id).values(views=Post.views + 1)
    )
    db.session.commit()
    return render_page(
        "posts/show.html",
        post=post,
        author=author or "a former member",
        popular=lazy(popular_posts),
    )


@action(
    bp,
    page=index,
    form=PostForm,
    allow=allow.signed_in,
    rule="/posts/create",
    rate_limit="20/minute",
    max_body="64 KB",
)
def create_post(form: PostForm) -> ActionState:
    """The seed's ``createPost``: store, revalidate the list and the tag, go to the post."""
    title: str = form.title.data
    for _attempt in range(3):
        post = Post(
            title=title,
            slug=unique_slug(slugify(title)),
            body=form.body.data.replace("\r\n", "\n"),
            author_id=current_user.id,
        )
        try:
            # A savepoint, so a slug taken meanwhile by another request costs
            # only this insert, not the action's transaction.
            with db.session.begin_nested():
                db.session.add(post)
        except IntegrityError:
            continue
        break
    else:
        raise ActionError(
            "Another post with this title was published at the same moment;"
            " please send yours again.",
            status=409,
        )
    revalidate_path("/posts")
    revalidate_tag(POSTS_TAG)
    return redirect_to("posts.show", slug=post.slug, message="Your post is published.")
