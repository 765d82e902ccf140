"""Render a page whole, or only the blocks an action needs from it.

A page view calls :func:`render_page`. On a normal GET that renders the whole
template. When an action re-renders the page for htmx, the same call renders only
the blocks asked for (the submitted form, the regions that changed), so the page
view's code is the one source of its context and nothing else is rendered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing as t
from urllib.parse import parse_qsl

from flask import Response
from flask import after_this_request
from flask import current_app
from flask import g
from flask import render_template
from flask import request
from jinja2 import Template
from jinja2 import nodes
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

from .htmx import htmx
from .regions import REGION_PREFIX
from .regions import RegionMode
from .regions import region_block_name

_PARENTS_ATTR = "_server_actions_parents"


@dataclasses.dataclass
class BlockRequest:
    """Which blocks an action wants from the page, and what came back."""

    #: Blocks rendered as they are (the submitted form).
    blocks: list[str]
    #: Also render the page's regions out of band; each renders only if stale.
    oob_regions: bool = False
    results: dict[str, str] = dataclasses.field(default_factory=dict)
    oob: str = ""
    template_name: str | None = None
    rendered: bool = False


def render_page(
    template_name_or_list: str | Template | list[str | Template], **context: t.Any
) -> str:
    """Render a page template; inside an action, render only the blocks it needs.

    Values that are expensive to compute can be passed as callables (see
    :func:`lazy`): a block that is not rendered never calls them.

    .. versionadded:: 0.1
    """
    wanted: BlockRequest | None = g.get("_server_actions_blocks")
    if wanted is None:
        alone = _region_asked_for(template_name_or_list)
        if alone is None:
            return render_template(template_name_or_list, **context)
        template, block = alone
        return _with_mode(
            "alone", lambda: render_blocks(template, [block], context)[block]
        )
    template = current_app.jinja_env.get_or_select_template(template_name_or_list)
    wanted.template_name = template.name
    wanted.results = render_blocks(template, wanted.blocks, context)
    if wanted.oob_regions:
        regions = [b for b in template_blocks(template) if b.startswith(REGION_PREFIX)]
        wanted.oob = _with_mode(
            "oob", lambda: "".join(render_blocks(template, regions, context).values())
        )
    wanted.rendered = True
    return ""


def _with_mode(mode: RegionMode, render: t.Callable[[], str]) -> str:
    g._server_actions_region_mode = mode
    try:
        return render()
    finally:
        g._server_actions_region_mode = "page"


def _region_asked_for(
    template_name_or_list: str | Template | list[str | Template],
) -> tuple[Template, str] | None:
    """An htmx GET whose target is a region of this page gets that region alone."""
    after_this_request(_vary_on_htmx)
    target = htmx.target_id if htmx and not htmx.wants_full_page else None
    if target is None:
        return None
    template = current_app.jinja_env.get_or_select_template(template_name_or_list)
    block = region_block_name(target)
    if block not in template_blocks(template):
        return None
    return template, block


def _vary_on_htmx(response: Response) -> Response:
    response.vary.update(("HX-Request", "HX-Target"))
    return response


class lazy:  # noqa: N801 - reads as a function in templates and views
    """A value computed on first call and remembered for the request.

    ``render_page("users.html", users=lazy(load_users))`` lets the template call
    ``users()`` in several places while the query runs once, and not at all when
    an action renders only a block that does not use it.
    """

    _unset: t.Final = object()

    def __init__(self, load: t.Callable[[], t.Any]) -> None:
        self._load = load
        self._value: t.Any = self._unset

    def __call__(self) -> t.Any:
        if self._value is self._unset:
            self._value = self._load()
        return self._value


def _static_parents(template: Template) -> list[Template]:
    """The chain of templates ``template`` extends, when the names are literal."""
    cached: list[Template] | None = getattr(template, _PARENTS_ATTR, None)
    if cached is not None:
        return cached
    env = template.environment
    parents: list[Template] = []
    current = template
    while current.name is not None and env.loader is not None:
        source, _, _ = env.loader.get_source(env, current.name)
        extends = env.parse(source).find(nodes.Extends)
        if extends is None or not isinstance(extends.template, nodes.Const):
            break
        current = env.get_template(extends.template.value, parent=current.name)
        parents.append(current)
    setattr(template, _PARENTS_ATTR, parents)
    return parents


def template_blocks(template: Template) -> dict[str, t.Any]:
    """Every block ``template`` can render, its own first, then its parents'."""
    blocks: dict[str, t.Any] = {}
    for tmpl in [template, *_static_parents(template)]:
        for name, func in tmpl.blocks.items():
            blocks.setdefault(name, func)
    return blocks


def render_blocks(
    template: Template, names: t.Iterable[str], context: dict[str, t.Any]
) -> dict[str, str]:
    """Render the named blocks of ``template`` (or of templates it extends).

    Context processors run as for :func:`flask.render_template`. Names the
    template does not have are left out of the result.
    """
    current_app.update_template_context(context)
    ctx = template.new_context(context)
    # Give the context its parents' blocks too, as {% extends %} would at runtime,
    # so a block in the layout that nests another block still renders alone.
    for parent in _static_parents(template):
        for name, func in parent.blocks.items():
            ctx.blocks.setdefault(name, []).append(func)
    available = template_blocks(template)
    env = template.environment
    return {
        name: env.concat(available[name](ctx)) for name in names if name in available
    }


def page_for_path(path: str) -> tuple[str, dict[str, t.Any]] | None:
    """The GET endpoint and view arguments that ``path`` routes to, if any."""
    adapter = current_app.create_url_adapter(request)
    if adapter is None:  # pragma: no cover - only outside a request
        return None
    try:
        endpoint, args = adapter.match(path.split("?", 1)[0], method="GET")
    except HTTPException:
        return None
    return str(endpoint), dict(args)


def call_page(path: str) -> t.Any | None:
    """Call the page view behind ``path`` inside the current request.

    While the view runs, ``request.args`` is the query string of ``path``, so a
    page re-rendered after an action shows what it showed (the same search, the
    same page number), not what the action's POST URL would give.
    """
    found = page_for_path(path)
    if found is None:
        return None
    endpoint, args = found
    view = current_app.ensure_sync(current_app.view_functions[endpoint])
    with _query_of(path):
        return view(**args)


@contextlib.contextmanager
def _query_of(path: str) -> t.Iterator[None]:
    # Request.args is a cached property, kept in the instance's __dict__.
    missing = object()
    saved = request.__dict__.get("args", missing)
    query = path.partition("?")[2]
    request.__dict__["args"] = ImmutableMultiDict(
        parse_qsl(query, keep_blank_values=True)
    )
    try:
        yield
    finally:
        if saved is missing:
            request.__dict__.pop("args", None)
        else:
            request.__dict__["args"] = saved
