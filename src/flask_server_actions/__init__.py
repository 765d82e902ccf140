from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from . import htmx as htmx
from .actions import Action as Action
from .actions import action as action
from .actions import all_actions as all_actions
from .actions import get_action as get_action
from .boundary import error_template as error_template
from .cache import ActionCache as ActionCache
from .cache import current_cache as current_cache
from .checks import submit_only as submit_only
from .datacache import cached as cached
from .errors import ActionError as ActionError
from .errors import CrossOriginRequest as CrossOriginRequest
from .errors import ServiceUnavailable as ServiceUnavailable
from .errors import TaintedValueError as TaintedValueError
from .errors import UnknownAction as UnknownAction
from .exchange import current_htmx as current_htmx
from .exchange import response_mode as response_mode
from .extension import ServerActions as ServerActions
from .htmx import HtmxDetails as HtmxDetails
from .live import stop_live_streams as stop_live_streams
from .pages import lazy as lazy
from .pages import render_page as render_page
from .pages import rendering_for_action as rendering_for_action
from .policies import Policy as Policy
from .policies import allow as allow
from .revalidation import refresh as refresh
from .revalidation import revalidate_path as revalidate_path
from .revalidation import revalidate_tag as revalidate_tag
from .security import DEFAULT_CSP as DEFAULT_CSP
from .security import security_headers as security_headers
from .state import ActionState as ActionState
from .state import redirect_to as redirect_to
from .taint import Secret as Secret
from .taint import secret as secret
from .taint import taint as taint
from .urls import local_path as local_path

try:
    #: The installed version; ``pyproject.toml`` is the one place it is written.
    __version__ = _version("flask-server-actions")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_CSP",
    "Action",
    "ActionCache",
    "ActionError",
    "ActionState",
    "CrossOriginRequest",
    "HtmxDetails",
    "Policy",
    "Secret",
    "ServerActions",
    "ServiceUnavailable",
    "TaintedValueError",
    "UnknownAction",
    "action",
    "all_actions",
    "allow",
    "cached",
    "current_cache",
    "current_htmx",
    "error_template",
    "get_action",
    "htmx",
    "lazy",
    "local_path",
    "redirect_to",
    "refresh",
    "render_page",
    "rendering_for_action",
    "response_mode",
    "revalidate_path",
    "revalidate_tag",
    "secret",
    "security_headers",
    "stop_live_streams",
    "submit_only",
    "taint",
]
