from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import func
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator
from werkzeug.security import generate_password_hash

from flask_server_actions import Secret
from flask_server_actions import secret


class Base(DeclarativeBase):
    pass


class SecretString(TypeDecorator[Secret[str]]):
    """A text column read as a :class:`Secret`: it refuses to be rendered."""

    impl = String
    cache_ok = True

    def __init__(self, length: int, message: str) -> None:
        super().__init__(length)
        self.message = message

    def process_bind_param(
        self,
        value: Secret[str] | str | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> str | None:
        return value.reveal() if isinstance(value, Secret) else value

    def process_result_value(
        self,
        value: str | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> Secret[str] | None:
        return secret(value, self.message) if value is not None else None


db = SQLAlchemy(model_class=Base)


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="user")
    #: Only seeded accounts have a password; users made on /users cannot sign in.
    #: A secret: a template that renders it fails in development and tests.
    password_hash: Mapped[Secret[str] | None] = mapped_column(
        SecretString(255, "A user's password hash"), default=None
    )
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


# --- Todos, likes and views (issue 5) -------------------------------------------


class Todo(db.Model):  # type: ignore[name-defined,misc]
    """One item of a to-do list; ``owner`` is ``user:<id>`` or ``session:<token>``."""

    __tablename__ = "todos"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(String(200))
    done: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class Counter(db.Model):  # type: ignore[name-defined,misc]
    """Likes and views of one thing (a page, a post), updated atomically in SQL."""

    __tablename__ = "counters"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    likes: Mapped[int] = mapped_column(default=0)
    views: Mapped[int] = mapped_column(default=0)


# --- end of issue 5 models ------------------------------------------------------


# --- Shop: /products (debounced search) and /cart (batch update) --------------


class Product(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    price_cents: Mapped[int]
    stock: Mapped[int]

    @property
    def price(self) -> str:
        return f"${self.price_cents // 100}.{self.price_cents % 100:02d}"


class CartLine(db.Model):  # type: ignore[name-defined,misc]
    """One product in one visitor's cart (``cart_id`` lives in their session)."""

    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity BETWEEN 1 AND 99", name="cart_line_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[str] = mapped_column(String(64), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    added_at: Mapped[dt.datetime] = mapped_column(server_default=func.now())


#: The catalogue is generated from these, the same on every machine.
PRODUCT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Lighting": ("Lamp", "Lamps (pair)", "Pendant Light", "Lantern", "Sconce"),
    "Kitchen": ("Kettle", "Teapot", "Mug", "Chef's Knife", "Cutting Board"),
    "Office": ("Notebook", "Desk Organiser", "Fountain Pen", "Monitor Stand"),
    "Garden": ("Watering Can", "Planter", "Trowel", "Bird Feeder"),
    "Textiles": ("Throw Blanket", "Cushion", "Rug", "Tea Towel"),
}
PRODUCT_ADJECTIVES = (
    "Brass", "Oak", "Walnut", "Linen", "Copper", "Ceramic", "Slate", "Birch",
    "Cotton", "Enamel", "Glass", "Marble", "Rattan", "Steel", "Wool",
)  # fmt: skip


def seed_products() -> None:
    """Fill an empty catalogue with a few hundred products, deterministically."""
    if db.session.scalar(db.select(func.count()).select_from(Product)):
        return
    number = 0
    for category, nouns in PRODUCT_CATEGORIES.items():
        for noun in nouns:
            for adjective in PRODUCT_ADJECTIVES:
                number += 1
                db.session.add(
                    Product(
                        name=f"{adjective} {noun}",
                        category=category,
                        # Prices and stock vary but never change between runs.
                        price_cents=500 + (number * 737) % 14500,
                        stock=(number * 7) % 23 + 3,
                    )
                )
    db.session.commit()


SEED_USERS = [
    ("Ada Lovelace", "ada@example.com", "admin"),
    ("Grace Hopper", "grace@example.com", "user"),
    ("Alan Turing", "alan@example.com", "user"),
]
#: The accounts that can sign in (documented in docs/reference-site.md).
SEED_PASSWORDS = {
    "ada@example.com": "analytical-engine",
    "grace@example.com": "compiler-1952",
}
#: Usernames nobody can claim; the username page shows "taken" for them.
RESERVED_USERNAMES = frozenset({"admin", "root", "support", "ada", "grace"})


def seed_database() -> None:
    """Fill an empty database with a few users and the catalogue, once."""
    seed_products()
    if db.session.scalar(db.select(func.count()).select_from(User)):
        return
    for name, email, role in SEED_USERS:
        password = SEED_PASSWORDS.get(email)
        db.session.add(
            User(
                name=name,
                email=email,
                role=role,
                password_hash=secret(generate_password_hash(password))
                if password
                else None,
            )
        )
    db.session.commit()


# --- /profile and /reports (issue 5) -------------------------------------------------


class Profile(db.Model):  # type: ignore[name-defined,misc]
    """What a user says about themselves, and their avatar (one row per user).

    The avatar is a file under ``instance/avatars/`` named ``avatar_file``; the row
    and the file are written together (file first, then the commit) and removed
    together, so neither outlives the other.
    """

    __tablename__ = "profiles"

    user_id: Mapped[int] = mapped_column(
        db.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    bio: Mapped[str] = mapped_column(String(500), default="")
    #: The generated file name (random hex + extension of the sniffed type).
    avatar_file: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The sniffed content type, served back as it is.
    avatar_type: Mapped[str | None] = mapped_column(String(32), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(
        server_default=func.now(), onupdate=func.now()
    )


class Sale(db.Model):  # type: ignore[name-defined,misc]
    """Orders the /reports page sums up, month by month."""

    __tablename__ = "sales"

    id: Mapped[int] = mapped_column(primary_key=True)
    sold_on: Mapped[dt.date] = mapped_column(index=True)
    region: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int]


SALE_REGIONS = ("North", "South", "East", "West")


def seed_sales(years: tuple[int, ...] = (2025, 2026)) -> None:
    """Two years of made-up orders, the same on every machine, once."""
    if db.session.scalar(db.select(func.count()).select_from(Sale)):
        return
    import random

    rng = random.Random(2026)
    for year, month in ((y, m) for y in years for m in range(1, 13)):
        for _ in range(rng.randint(18, 40)):
            db.session.add(
                Sale(
                    sold_on=dt.date(year, month, rng.randint(1, 28)),
                    region=rng.choice(SALE_REGIONS),
                    amount_cents=rng.randint(1_500, 48_000),
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
