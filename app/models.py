from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
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
