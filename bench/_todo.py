"""What both apps of the CPU benchmark share: the form, the list, the database.

Items live in a list in the process, trimmed to a fixed size, so no database
is measured and every page shows the same number of items. Each gunicorn
worker has its own list; both apps alike.

The cached-region comparison is the exception: there the list comes from a
SQLite database (the same items), as a real page's would, because what a
fragment cache saves is that query and the render of its rows.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length

#: Items the page shows; each new one pushes the oldest out.
ITEMS = 30
#: What the benchmark posts: as long as a seed item, so pages keep their size.
POSTED_TEXT = "Water the plants now"


def seed() -> list[str]:
    return [f"Seed item number {n:03d}" for n in range(1, ITEMS + 1)]


def keep(todos: list[str], text: str) -> None:
    """Add ``text`` and drop the oldest items beyond :data:`ITEMS`."""
    todos.append(text)
    del todos[:-ITEMS]


class TodoForm(FlaskForm):
    text = StringField("To-do", validators=[InputRequired(), Length(min=3, max=80)])


_DATABASE = Path(tempfile.gettempdir()) / "bench-cpu-todos.sqlite"
_connection: sqlite3.Connection | None = None


def _database() -> sqlite3.Connection:
    """This process's connection, to a file seeded with the seed items once."""
    global _connection
    if _connection is None:
        _connection = sqlite3.connect(_DATABASE, isolation_level=None)
        _connection.execute(
            "CREATE TABLE IF NOT EXISTS todo (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"
        )
        _connection.executemany(
            "INSERT OR IGNORE INTO todo (id, text) VALUES (?, ?)",
            enumerate(seed(), start=1),
        )
    return _connection


def stored_todos() -> list[str]:
    """The items, read from the database now (what a page without a cache does)."""
    rows = _database().execute("SELECT text FROM todo ORDER BY id LIMIT ?", (ITEMS,))
    return [text for (text,) in rows]


class StoredTodos:
    """The items, read from the database only if the template iterates them.

    A cached region that is served from the cache never does.
    """

    def __iter__(self) -> Iterator[str]:
        return iter(stored_todos())
