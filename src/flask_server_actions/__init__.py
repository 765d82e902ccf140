from __future__ import annotations

from .actions import Action as Action
from .actions import action as action
from .actions import get_action as get_action
from .actions import response_mode as response_mode
from .cache import ActionCache as ActionCache
from .cache import current_cache as current_cache
from .datacache import cached as cached
from .errors import ActionError as ActionError
from .errors import CrossOriginRequest as CrossOriginRequest
from .errors import ServiceUnavailable as ServiceUnavailable
from .errors import UnknownAction as UnknownAction
from .extension import ServerActions as ServerActions
from .htmx import HtmxDetails as HtmxDetails
from .htmx import htmx as htmx
from .pages import lazy as lazy
from .pages import render_page as render_page
from .policies import Policy as Policy
from .policies import allow as allow
from .revalidation import refresh as refresh
from .revalidation import revalidate_path as revalidate_path
from .revalidation import revalidate_tag as revalidate_tag
from .security import DEFAULT_CSP as DEFAULT_CSP
from .security import security_headers as security_headers
from .state import ActionState as ActionState
from .state import redirect_to as redirect_to
from .urls import local_path as local_path

__all__ = [
    "Action",
    "ActionCache",
    "ActionError",
    "ActionState",
    "CrossOriginRequest",
    "DEFAULT_CSP",
    "HtmxDetails",
    "Policy",
    "ServerActions",
    "ServiceUnavailable",
    "UnknownAction",
    "action",
    "allow",
    "cached",
    "current_cache",
    "get_action",
    "htmx",
    "lazy",
    "local_path",
    "redirect_to",
    "refresh",
    "revalidate_path",
    "revalidate_tag",
    "security_headers",
    "render_page",
    "response_mode",
]
