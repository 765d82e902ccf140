from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import func
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from werkzeug.security import generate_password_hash


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="user")
    #: Only seeded accounts have a password; users made on /users cannot sign in.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class ClaimedUsername(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "claimed_usernames"

    username: Mapped[str] = mapped_column(String(20), primary_key=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class ContactMessage(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "contact_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    message: Mapped[str] = mapped_column(String(2000))
    sent_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


SEED_USERS = [
    ("Ada Lovelace", "ada@example.com", "admin"),
    ("Grace Hopper", "grace@example.com", "user"),
    ("Alan Turing", "alan@example.com", "user"),
]
#: The accounts that can sign in (documented in the README).
SEED_PASSWORDS = {
    "ada@example.com": "analytical-engine",
    "grace@example.com": "compiler-1952",
}
#: Usernames nobody can claim; the username page shows "taken" for them.
RESERVED_USERNAMES = frozenset({"admin", "root", "support", "ada", "grace"})


def seed_database() -> None:
    """Fill an empty database with a few users, once."""
    if db.session.scalar(db.select(func.count()).select_from(User)):
        return
    for name, email, role in SEED_USERS:
        password = SEED_PASSWORDS.get(email)
        db.session.add(
            User(
                name=name,
                email=email,
                role=role,
                password_hash=generate_password_hash(password) if password else None,
            )
        )
    db.session.commit()


# --- Posts (issue 4, the blog: app/posts.py) --------------------------------


class Post(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    #: From the title, with "-2", "-3"… when another post has the same one.
    slug: Mapped[str] = mapped_column(String(90), unique=True)
    body: Mapped[str] = mapped_column(Text)
    #: Who wrote it; a deleted account leaves its posts without an author.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    views: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


#: (title, slug, author email, views, days ago, body) of the posts a new site has.
SEED_POSTS = [
    (
        "Notes on the Analytical Engine",
        "notes-on-the-analytical-engine",
        "ada@example.com",
        412,
        9,
        "The engine weaves algebraic patterns just as the Jacquard loom weaves"
        " flowers and leaves. These notes walk through a program that computes"
        " Bernoulli numbers, one operation card at a time.",
    ),
    (
        "Why a compiler?",
        "why-a-compiler",
        "grace@example.com",
        268,
        6,
        "Programmers should write in something close to English and let the"
        " machine do the translating. Here is how the A-0 system came to be, and"
        " why people told me it could not be done.",
    ),
    (
        "Nanoseconds you can hold",
        "nanoseconds-you-can-hold",
        "grace@example.com",
        157,
        3,
        "A nanosecond is about 30 centimetres of wire: the distance light travels"
        " in a billionth of a second. Keep one in your pocket and think twice"
        " before wasting a microsecond.",
    ),
    (
        "Server actions without a client framework",
        "server-actions-without-a-client-framework",
        "ada@example.com",
        89,
        1,
        "A form that posts to a server function works with or without"
        " JavaScript. This site shows how: the server renders HTML, htmx swaps it"
        " in, and revalidation refreshes what the action changed.",
    ),
]


def seed_posts() -> None:
    """Fill an empty posts table with a few posts by the seeded accounts, once."""
    if db.session.scalar(db.select(func.count()).select_from(Post)):
        return
    authors = dict(db.session.execute(db.select(User.email, User.id)).all())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for title, slug, email, views, days_ago, body in SEED_POSTS:
        db.session.add(
            Post(
                title=title,
                slug=slug,
                body=body,
                author_id=authors.get(email),
                views=views,
                created_at=now - dt.timedelta(days=days_ago),
            )
        )
    db.session.commit()


# --- end of posts ------------------------------------------------------------
