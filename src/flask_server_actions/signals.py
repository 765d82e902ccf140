"""Signals sent by the toolkit (blinker, like Flask's own ``template_rendered``)."""

from __future__ import annotations

import typing as t

from blinker import Namespace

_signals = Namespace()

#: Sent once an action's outcome is known, just before it is answered, with the
#: app as sender and ``action`` and ``state`` as keyword arguments. Refusals
#: that happen before the action runs (CSRF, origin, 401/403/413/429) send it
#: too. The test client records states with it; apps can log or count them.
action_answered: t.Final = _signals.signal("action-answered")
