"""The ``{% action_form %}`` tag: a form that is also a block of its page.

Because the form is a named block, an action can render just that form (for an
htmx swap) from the same page template that renders it whole without JavaScript.
"""

from __future__ import annotations

import typing as t
import weakref

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup

from .fields import check_region_name
from .fields import default_form_id
from .fields import form_block_name
from .fields import region_block_name
from .forms import FORM_OPTIONS
from .forms import render_action_form
from .regions import render_region

#: The regions and forms each template being parsed has so far.
_seen: weakref.WeakKeyDictionary[Parser, set[str]] = weakref.WeakKeyDictionary()


def _once_per_template(parser: Parser, block: str, message: str, lineno: int) -> None:
    """Fail with ``message`` when the template has ``block`` already.

    Jinja would say "block 'sa_region__x' defined twice", a name the developer
    never wrote.
    """
    seen = _seen.setdefault(parser, set())
    if block in seen:
        parser.fail(message, lineno)
    seen.add(block)


class ServerActionsExtension(Extension):
    """Adds ``{% action_form %}`` and ``{% region %}``.

    ``{% action_form "endpoint" [id="…"] %}…{% endaction_form %}`` renders the
    action's form. ``{% region "name", tags=[…] %}…{% endregion %}`` marks a part
    of the page that actions can refresh by tag or path; ``cache=seconds`` keeps
    its content in the server-side cache and ``vary=[…]`` says what it differs by;
    ``live=True`` refreshes it in every open browser when it is revalidated, and
    ``swap="morph"`` morphs it into the page after an action.

    Inside the tag, ``form`` is the action's form (empty, or bound with the
    user's input and errors) and ``state`` is the action's last
    :class:`~flask_server_actions.ActionState` (or ``None``).
    """

    tags = {"action_form", "region"}  # noqa: RUF012 - Jinja's Extension declares it so

    def parse(self, parser: Parser) -> nodes.Node:
        token = next(parser.stream)
        if token.value == "region":
            return self._parse_region(parser, token.lineno)
        return self._parse_form(parser, token.lineno)

    def _parse_options(self, parser: Parser) -> list[nodes.Keyword]:
        options: list[nodes.Keyword] = []
        while parser.stream.current.type != "block_end":
            parser.stream.skip_if("comma")
            key = parser.stream.expect("name")
            parser.stream.expect("assign")
            options.append(
                nodes.Keyword(key.value, parser.parse_expression(), lineno=key.lineno)
            )
        return options

    def _parse_region(self, parser: Parser, lineno: int) -> nodes.Node:
        name = parser.parse_expression()
        if not isinstance(name, nodes.Const) or not isinstance(name.value, str):
            parser.fail(
                'region takes its name as a quoted string, e.g. {% region "user-list" %}.',
                lineno,
            )
        try:
            check_region_name(name.value)
        except ValueError as exc:
            parser.fail(str(exc), lineno)
        _once_per_template(
            parser,
            region_block_name(name.value),
            f"Region {name.value!r} appears twice in this template: its name is the"
            " element's id, so it may appear once per page. Give the second another"
            " name.",
            lineno,
        )
        options = self._parse_options(parser)
        body = parser.parse_statements(("name:endregion",), drop_needle=True)
        # The template's name goes into the fragment-cache key of the region.
        options.append(nodes.Keyword("template_name", nodes.Const(parser.name)))
        call = self.call_method(
            "_region", [nodes.Const(name.value)], options, lineno=lineno
        )
        call_block = nodes.CallBlock(call, [], [], body, lineno=lineno)
        return nodes.Block(
            region_block_name(name.value), [call_block], True, False, lineno=lineno
        )

    def _parse_form(self, parser: Parser, lineno: int) -> nodes.Node:
        endpoint = parser.parse_expression()
        if not isinstance(endpoint, nodes.Const) or not isinstance(endpoint.value, str):
            parser.fail(
                "action_form takes the action's endpoint as a quoted string,"
                ' e.g. {% action_form "users.create_user" %}.',
                lineno,
            )
        options: list[nodes.Keyword] = []
        form_id = default_form_id(endpoint.value)
        while parser.stream.current.type != "block_end":
            parser.stream.skip_if("comma")
            key = parser.stream.expect("name").value
            parser.stream.expect("assign")
            value = parser.parse_expression()
            if key != "id" and key not in FORM_OPTIONS:
                parser.fail(
                    f"action_form has no option {key!r}; it takes id and"
                    f" {', '.join(sorted(FORM_OPTIONS))}.",
                    lineno,
                )
            if key == "id":
                if not isinstance(value, nodes.Const) or not isinstance(
                    value.value, str
                ):
                    parser.fail("action_form's id must be a quoted string.", lineno)
                form_id = value.value
            else:
                options.append(nodes.Keyword(key, value, lineno=lineno))
        _once_per_template(
            parser,
            form_block_name(form_id),
            f"Two forms with the id {form_id!r} in this template: give the second"
            ' its own, e.g. {% action_form "' + endpoint.value + '", id="..." %}.',
            lineno,
        )
        body = parser.parse_statements(("name:endaction_form",), drop_needle=True)
        call = self.call_method(
            "_render",
            [nodes.Const(endpoint.value), nodes.Const(form_id)],
            options,
            lineno=lineno,
        )
        params = [nodes.Name("form", "param"), nodes.Name("state", "param")]
        call_block = nodes.CallBlock(call, params, [], body, lineno=lineno)
        return nodes.Block(
            form_block_name(form_id), [call_block], True, False, lineno=lineno
        )

    def _render(
        self,
        endpoint: str,
        form_id: str,
        caller: t.Callable[..., str],
        **options: t.Any,
    ) -> Markup:
        return render_action_form(endpoint, form_id, caller, options)

    def _region(
        self,
        name: str,
        caller: t.Callable[[], str],
        tags: t.Iterable[str] = (),
        element: str = "div",
        cache: int | bool | None = None,
        vary: t.Iterable[str] | str | None = None,
        template_name: str | None = None,
        live: t.Any = None,
        swap: t.Any = "replace",
        **attrs: t.Any,
    ) -> Markup:
        if isinstance(tags, str):
            tags = [tags]
        return render_region(
            name,
            caller,
            tags=tags,
            element=element,
            attrs=attrs,
            cache=cache,
            vary=vary,
            template_name=template_name,
            live=live,
            swap=swap,
        )
