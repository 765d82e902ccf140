"""The ledger of submission keys: which are running, which were applied, and with what.

Its store never forgets an entry before its time (see :mod:`~flask_server_actions.stores`),
so a repeat is always recognised: a claim lasts :data:`PENDING_TIMEOUT` seconds, an
applied result the ledger's ``ttl``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
import typing as t

from .errors import CacheUnavailable
from .state import ActionState
from .stores import Store
from .stores import StoreFull

#: What a claimed key holds while its first request is still running.
_PENDING: t.Final = "pending"
#: How long a claim may stay pending (seconds): longer than any request should
#: run, short enough that a worker killed mid-request does not block the key long.
PENDING_TIMEOUT: t.Final = 60
#: How often a repeat looks for the first request's result (seconds).
_POLL_INTERVAL: t.Final = 0.05


def _stored(state: ActionState) -> dict[str, t.Any]:
    """The state as plain data every store can keep."""
    kept: dict[str, t.Any] = {
        "ok": state.ok,
        "message": state.message,
        "errors": {k: list(v) for k, v in state.errors.items()},
        "status": state.status,
        "redirect": state.redirect,
        "reset": state.reset,
    }
    for name in ("values", "data"):
        value = dict(getattr(state, name))
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = {}
        kept[name] = value
    return kept


@dataclasses.dataclass(frozen=True)
class Claim:
    """What claiming a key found: it is ours to run, applied before, or still running."""

    #: The first result of this key, if it was applied before.
    applied: ActionState | None = None
    #: Another request holds the key and did not finish in time.
    busy: bool = False

    @property
    def ours(self) -> bool:
        return self.applied is None and not self.busy


#: What a ledger keeps its entries in: one that never drops an entry early.
LedgerStore = Store


class Ledger:
    """The record of which submission keys are running and which were applied.

    Its store never forgets an entry before its time: a claim lasts
    :data:`PENDING_TIMEOUT` seconds, an applied result ``ttl`` seconds. When a
    store that holds a bounded number of entries is full, or the store does not
    answer, the action is refused with a 503 (input kept); it never runs twice.

    :param store: where the entries live (memory, an SQLite file, Redis).
    :param ttl: seconds an applied key's result is kept (and replayed).
    :param wait: seconds a repeat waits for the first request with its key.
    :param errors: what the store raises when it cannot be reached.
    """

    def __init__(
        self,
        store: LedgerStore,
        *,
        ttl: int,
        wait: float,
        errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.wait = wait
        self._errors: tuple[type[Exception], ...] = (StoreFull, *errors)

    @contextlib.contextmanager
    def _answering(self) -> t.Iterator[None]:
        try:
            yield
        except self._errors as exc:
            raise CacheUnavailable(
                f"The submission ledger cannot record: {exc}"
            ) from exc

    def entry(self, endpoint: str, scope: str, key: str) -> str:
        """The store's key of one submission key, scoped to its action and submitter."""
        raw = json.dumps([endpoint, scope, key], separators=(",", ":"))
        return "submission:" + hashlib.sha256(raw.encode()).hexdigest()

    def claim(self, entry: str) -> Claim:
        """Claim ``entry`` to run it; a repeat waits while the first request runs.

        Raises :class:`~flask_server_actions.errors.CacheUnavailable` if the
        store cannot record the claim: a key that cannot be recorded must not
        pass as new.
        """
        deadline = time.monotonic() + self.wait
        while True:
            with self._answering():
                if self.store.add(entry, _PENDING, timeout=PENDING_TIMEOUT):
                    return Claim()
                found = self.store.get(entry)
            if isinstance(found, dict):
                return Claim(applied=ActionState(**found))
            # Pending (another request runs it), or released just now: try again.
            if time.monotonic() >= deadline:
                return Claim(busy=True)
            time.sleep(_POLL_INTERVAL)

    def look(self, entry: str) -> Claim:
        """What an earlier request with ``entry`` did, without claiming it.

        For a submission refused before its action would run (an invalid form):
        a read, never a write. While another request with the key runs, it waits
        for that request's result as :meth:`claim` does. ``Claim()`` (``ours``)
        means no request has the key.
        """
        deadline = time.monotonic() + self.wait
        while True:
            with self._answering():
                found = self.store.get(entry)
            if isinstance(found, dict):
                return Claim(applied=ActionState(**found))
            if found is None:
                return Claim()
            if time.monotonic() >= deadline:
                return Claim(busy=True)
            time.sleep(_POLL_INTERVAL)

    def record(self, entry: str, state: ActionState) -> None:
        """Keep the applied result of ``entry``, to replay it to repeats."""
        with self._answering():
            self.store.set(entry, _stored(state), timeout=self.ttl)

    def release(self, entry: str) -> None:
        """Nothing was written: the key may be sent again (the corrected form)."""
        with self._answering():
            self.store.delete(entry)
