"""Who is calling: the signed-in user, else the client's address.

Rate limits and stream limits count per caller. Behind proxies, set
``SERVER_ACTIONS_TRUSTED_PROXIES`` to how many of them add to
``X-Forwarded-For``; only those entries are believed, so a client cannot forge
its address.
"""

from __future__ import annotations

from flask import request

from .exchange import current_exchange
from .policies import current_user


def client_address(trusted_proxies: int) -> str:
    """The client's address, believing only ``trusted_proxies`` proxies."""
    if trusted_proxies > 0:
        forwarded = [
            part.strip()
            for part in request.headers.get("X-Forwarded-For", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return request.remote_addr or "unknown"


def caller_address() -> str:
    """``addr:<client address>`` of the current request."""
    return f"addr:{client_address(current_exchange().settings.trusted_proxies)}"


def caller() -> str:
    """``user:<id>`` for a signed-in user, else ``addr:<client address>``."""
    user = current_user()
    if getattr(user, "is_authenticated", False):
        return f"user:{user.get_id()}"
    return caller_address()
