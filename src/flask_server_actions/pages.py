"""Render a page whole, or only the blocks an action needs from it.

A page view calls :func:`render_page`. On a normal GET that renders the whole
template. When an action re-renders the page for htmx, the same call renders only
the blocks asked for (the submitted form, the regions that changed), so the page
view's code is the one source of its context and nothing else is rendered.
"""

from __future__ import annotations

import contextlib
import typing as t
import weakref

from flask import after_this_request
from flask import before_render_template
from flask import current_app
from flask import flash
from flask import has_request_context
from flask import render_template
from flask import template_rendered
from jinja2 import Template
from jinja2 import nodes
from werkzeug.exceptions import HTTPException

from .compat import query_string_of
from .compat import request_url_adapter
from .compat import update_template_context
from .exchange import Exchange
from .exchange import RegionMode
from .exchange import current_exchange
from .fields import REGION_PREFIX
from .fields import form_block_name
from .fields import region_block_name

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask
    from flask import Response

    from .exchange import BlockRequest

TemplateName = str | Template | list[str | Template]

#: The templates each template extends, when the names are literal; kept as
#: long as the template itself (Jinja's cache may drop and reload it).
_parents: weakref.WeakKeyDictionary[Template, list[Template]] = (
    weakref.WeakKeyDictionary()
)
#: Every block a template can render, by name (see :func:`template_blocks`).
_guarded: weakref.WeakKeyDictionary[Template, dict[str, GuardedTags]] = (
    weakref.WeakKeyDictionary()
)
_blocks: weakref.WeakKeyDictionary[Template, dict[str, t.Any]] = (
    weakref.WeakKeyDictionary()
)


def render_page(template_name_or_list: TemplateName, **context: t.Any) -> str:
    """Render a page template; inside an action, render only the blocks it needs.

    Values that are expensive to compute can be passed as callables (see
    :func:`lazy`): a block that is not rendered never calls them.

    .. versionadded:: 0.1
    """
    exchange = current_exchange()
    wanted = exchange.blocks
    if wanted is not None:
        _render_wanted(exchange, wanted, template_name_or_list, context)
        return ""
    after_this_request(_vary_on_htmx)
    target = exchange.htmx.target_id
    if exchange.htmx and not exchange.htmx.wants_full_page and target is not None:
        template = current_app.jinja_env.get_or_select_template(template_name_or_list)
        block = region_block_name(target)
        if block in template_blocks(template):
            # An htmx GET whose target is a region of this page gets that region alone.
            if block in guarded_regions(template):
                # Inside an {% if %} (or a loop, a macro…): only the whole page
                # knows whether this visitor sees it.
                found = _capture(exchange, template, context, {block: "alone"})
                return found.get(block, "")
            exchange.region_mode = "alone"
            try:
                return render_blocks(template, [block], context)[block]
            finally:
                exchange.region_mode = "page"
    if exchange.submission is not None:
        template = current_app.jinja_env.get_or_select_template(template_name_or_list)
        _flash_if_form_missing(exchange, template)
    return render_template(template_name_or_list, **context)


def _render_wanted(
    exchange: Exchange,
    wanted: BlockRequest,
    template_name_or_list: TemplateName,
    context: dict[str, t.Any],
) -> None:
    template = current_app.jinja_env.get_or_select_template(template_name_or_list)
    wanted.template_name = template.name
    blocks = template_blocks(template)
    regions = (
        [b for b in blocks if b.startswith(REGION_PREFIX)] if wanted.oob_regions else []
    )
    guarded = guarded_regions(template)
    with _block_context(template, context) as render:
        wanted.results = {
            name: render(name) for name in wanted.blocks if name in blocks
        }
        exchange.region_mode = "oob"
        try:
            oob = [render(name) for name in regions if name not in guarded]
        finally:
            exchange.region_mode = "page"
    wanted_guarded: dict[str, RegionMode] = {
        name: "oob"
        for name in regions
        if name in guarded and _may_be_stale(exchange, guarded[name])
    }
    if wanted_guarded:
        # Only the whole page knows whether this user sees them.
        oob += _capture(exchange, template, context, wanted_guarded).values()
    wanted.oob = "".join(oob)
    wanted.rendered = True


def _capture(
    exchange: Exchange,
    template: Template,
    context: dict[str, t.Any],
    wanted: dict[str, RegionMode],
) -> dict[str, str]:
    """Render the whole page to keep what the ``wanted`` regions render in it.

    A region inside ``{% if %}`` renders exactly when the page shows it to this
    user; rendered alone, as a block, it would skip that condition. What is
    not wanted is thrown away, and the layout's one-time messages are left for
    the page the user sees next.
    """
    exchange.region_mode, exchange.capturing, exchange.captured = "capture", wanted, {}
    try:
        with _block_context(template, context) as render:
            template.render(render.context)
        return dict(exchange.captured)
    finally:
        exchange.region_mode, exchange.capturing = "page", {}


#: A guarded region's tags, when the template names them as constants.
GuardedTags = tuple[str, ...] | None


def guarded_regions(template: Template) -> dict[str, GuardedTags]:
    """The region blocks of ``template`` (and its layouts) inside a condition.

    Those under ``{% if %}``, ``{% for %}``, ``{% with %}``, a macro or a call
    block: a block renders alone without its surroundings, so these must be
    rendered as part of the whole page. Each with its tags, if the template
    writes them as a list of strings (``None``: known only when it renders).
    """
    found = _guarded.get(template)
    if found is None:
        found = {}
        env = template.environment
        for tmpl in [template, *_static_parents(template)]:
            if tmpl.name is None or env.loader is None:
                continue
            source = env.loader.get_source(env, tmpl.name)[0]
            _find_guarded(env.parse(source, tmpl.name), False, found)
        _guarded[template] = found
    return found


def _may_be_stale(exchange: Exchange, tags: GuardedTags) -> bool:
    """Whether an action's answer may have to bring this guarded region back."""
    return tags is None or exchange.stale.affects(tags, exchange.page_path)


_GUARDS: t.Final = (
    nodes.If,
    nodes.For,
    nodes.With,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.Scope,
    nodes.ScopedEvalContextModifier,
)


def _find_guarded(
    node: nodes.Node, guarded: bool, found: dict[str, GuardedTags]
) -> None:
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.Block) and child.name.startswith(REGION_PREFIX):
            if guarded:
                found.setdefault(child.name, _constant_tags(child))
            continue  # the region's own body is its business
        _find_guarded(child, guarded or isinstance(child, _GUARDS), found)


def _constant_tags(region: nodes.Block) -> GuardedTags:
    """The ``tags=[…]`` of a region's tag, if they are written as strings."""
    for call in region.find_all(nodes.Call):
        for keyword in call.kwargs:
            if keyword.key != "tags":
                continue
            value = keyword.value
            if isinstance(value, nodes.List | nodes.Tuple) and all(
                isinstance(item, nodes.Const) and isinstance(item.value, str)
                for item in value.items
            ):
                return tuple(t.cast(nodes.Const, item).value for item in value.items)
            return None
        return ()  # no tags: only a revalidation of its page's path reaches it
    return None


def _flash_if_form_missing(exchange: Exchange, template: Template) -> None:
    """Decide, before the page renders, where a failure's message is shown.

    The page shows the submitted form with its message; if the page has no
    block for that form (the form's id could not be read back, or the form
    is not on this page), the message goes to the page's flashes instead.
    """
    submitted = exchange.submission
    # A button is markup of a template global, not a block: only the render
    # itself tells whether it is on the page.
    if submitted is None or submitted.message_flashed or exchange.kind == "button":
        return
    message = submitted.state.message
    if message and form_block_name(submitted.form_id) not in template_blocks(template):
        flash(message, "success" if submitted.state.ok else "error")
        submitted.message_flashed = True


def _vary_on_htmx(response: Response) -> Response:
    response.vary.update(("HX-Request", "HX-Target"))
    return response


class lazy:
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
    cached = _parents.get(template)
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
    _parents[template] = parents
    return parents


def template_blocks(template: Template) -> dict[str, t.Any]:
    """Every block ``template`` can render, its own first, then its parents'."""
    blocks = _blocks.get(template)
    if blocks is None:
        blocks = {}
        for tmpl in [template, *_static_parents(template)]:
            for name, func in tmpl.blocks.items():
                blocks.setdefault(name, func)
        _blocks[template] = blocks
    return blocks


class _BlockContext:
    """Renders blocks of one template from one context, as ``render_template`` would."""

    def __init__(self, template: Template, context: dict[str, t.Any]) -> None:
        self.template = template
        self.context = context
        self.ctx = template.new_context(context)
        # Give the context its parents' blocks too, as {% extends %} would at
        # runtime, so a block in the layout that nests another block renders alone.
        for parent in _static_parents(template):
            for name, func in parent.blocks.items():
                self.ctx.blocks.setdefault(name, []).append(func)
        self.available = template_blocks(template)

    def __call__(self, name: str) -> str:
        render = self.available[name]
        return str(self.template.environment.concat(render(self.ctx)))


@contextlib.contextmanager
def _block_context(
    template: Template, context: dict[str, t.Any]
) -> t.Iterator[_BlockContext]:
    """Context processors and Flask's template signals around rendering blocks."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    update_template_context(app, context)
    before_render_template.send(
        app, _async_wrapper=app.ensure_sync, template=template, context=context
    )
    yield _BlockContext(template, context)
    template_rendered.send(
        app, _async_wrapper=app.ensure_sync, template=template, context=context
    )


def render_blocks(
    template: Template, names: t.Iterable[str], context: dict[str, t.Any]
) -> dict[str, str]:
    """Render the named blocks of ``template`` (or of templates it extends).

    Context processors run and Flask's template signals are sent, as for
    :func:`flask.render_template`. Names the template does not have are left
    out of the result.
    """
    with _block_context(template, context) as render:
        return {name: render(name) for name in names if name in render.available}


def route_of(path: str) -> tuple[str, dict[str, t.Any]] | None:
    """The GET endpoint and view arguments that ``path`` routes to, if any."""
    adapter = request_url_adapter(current_app, current_exchange().request)
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
    found = route_of(path)
    if found is None:
        return None
    endpoint, args = found
    view = current_app.ensure_sync(current_app.view_functions[endpoint])
    exchange = current_exchange()
    exchange.page_for_action = True
    try:
        with query_string_of(exchange.request, path):
            return view(**args)
    finally:
        exchange.page_for_action = False


def rendering_for_action() -> bool:
    """Whether the page view runs now to answer an action, not for a GET.

    After an action the toolkit calls the page view again, inside the action's
    POST, to render the page (or the blocks it needs): so its ``@login_required``,
    ``after_this_request`` hooks and any counting in it run then too. A view
    that counts page views skips them with this::

        if not rendering_for_action():
            stats.page_views += 1

    .. versionadded:: 0.1
    """
    return has_request_context() and current_exchange().page_for_action
