"""Run each action in one SQLAlchemy transaction: all of its writes, or none."""

from __future__ import annotations

import contextlib
import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterator


class _Session(t.Protocol):
    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def unavailable_errors() -> tuple[type[Exception], ...]:
    """SQLAlchemy's "database locked or unreachable" errors, for ``unavailable_errors=``.

    ::

        ServerActions(app, transaction=session_transaction(db.session),
                      unavailable_errors=unavailable_errors())

    ``OperationalError`` covers a locked SQLite file and a PostgreSQL server that
    refuses connections; ``TimeoutError`` a connection pool with none free.
    """
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return (OperationalError, PoolTimeout)


def session_transaction(
    session: _Session,
) -> t.Callable[[], contextlib.AbstractContextManager[None]]:
    """A transaction factory for :class:`~flask_server_actions.ServerActions`.

    ::

        ServerActions(app, transaction=session_transaction(db.session))

    The action's work is committed when it succeeds and rolled back when it
    raises or returns a failed state, so a failed action leaves no partial write.
    """

    @contextlib.contextmanager
    def transaction() -> Iterator[None]:
        try:
            yield
        except BaseException:
            session.rollback()
            raise
        session.commit()

    return transaction
