"""The pytest plugin: an ``action_client`` fixture for apps that use server actions.

Installed with the package (entry point ``pytest11``); it needs an ``app``
fixture that returns your Flask application, as pytest-flask does.
"""

from __future__ import annotations

import pytest
from flask import Flask

from .testing import ActionClient


@pytest.fixture
def action_client(app: Flask) -> ActionClient:
    """A test client whose :meth:`~ActionClient.submit` posts to actions like a browser."""
    return ActionClient(app, app.response_class, use_cookies=True)
