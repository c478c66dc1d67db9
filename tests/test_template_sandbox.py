"""The template sandbox: known server-side template injection payloads are refused when the
template is loaded, what the syntax tree cannot show is refused by the sandbox when it renders,
and nothing a payload asks for is ever executed."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesorders.errors import TemplateError
from salesorders.notifications import CustomerContact, Notice, TemplateCatalog
from salesorders.ports import OutboxMessage
from test_service_support import T0

NAME = "en_US/OrderShipped.sms.text"


def notice() -> Notice:
    payload = {"order_id": "O-1", "sequence": 3, "at": T0.isoformat(), "actor": "", "reason": ""}
    message = OutboxMessage("O-1:3", "O-1", 3, "OrderShipped", payload, T0)
    return Notice(message, None, CustomerContact("C-1", name="Ann"))


def refused_at_load(source: str) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        TemplateCatalog({NAME: source})
    assert caught.value.field == NAME
    return caught.value


def refused_at_render(source: str) -> TemplateError:
    catalog = TemplateCatalog({NAME: source}, builtins=False)
    with pytest.raises(TemplateError) as caught:
        catalog.render(notice(), "sms")
    assert caught.value.field == NAME
    return caught.value


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__subclasses__'"),
        ("{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}", "'__globals__'"),
        ("{{ self._TemplateReference__context }}", "'_TemplateReference__context'"),
        ("{{ config.items() }}", "'config'"),
        ("{{ request.application.__globals__ }}", "'__globals__'"),
        ("{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}", "__sub"),
        ("{{ lipsum.__globals__ }}", "'__globals__'"),
        ("{{ ''|attr('__class__') }}", "'attr'"),
        ("{{ customer_name|attr('upper')() }}", "'attr'"),
        ("{{ lines|map(attribute='__class__')|join }}", "'map'"),
        ("{{ order_total['__class__'] }}", "'__class__'"),
        ("{{ joiner() }}", "'joiner'"),
        ("{{ range(10**9)|length }}", "'range'"),
        ("{{ namespace(a=1) }}", "'namespace'"),
        ("{{ ''|center(1000000000) }}", "'center'"),
        ("{{ customer_name|indent(1000000000) }}", "'indent'"),
        ("{% include 'x' %}", "include"),
        ("{% import 'x' as x %}", "import"),
        ("{% extends 'x' %}", "extends"),
        ("{{ self }}", "'self'"),
        ("{{ os }}", "'os'"),
        ("{{ customer_name is callable }}", "'callable'"),
        ("{% set x = customer_name %}{{ x.__class__ }}", "'__class__'"),
    ],
)
def test_injection_payloads_are_refused_when_loaded(
    payload: str, what: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    error = refused_at_load(payload.replace("{marker}", str(marker)))
    assert what in str(error)
    assert "refused" in str(error)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        "{{ order_total['__cl' ~ 'ass__'] }}",
        "{% set n = '__' ~ 'class__' %}{{ customer_name[n] }}",
        "{{ '{0.__class__}'.format(customer_name) }}",
        "{{ lines.append(1) }}",
        "{{ '{x.__class__}'.format_map({'x': customer_name}) }}",
        "{{ 'x' * 100000000 }}",
        "{{ lines * 100000000 }}",
        "{{ 2 ** 100000000 }}",
    ],
)
def test_what_the_tree_cannot_show_the_sandbox_refuses_at_render(payload: str) -> None:
    TemplateCatalog({NAME: payload})  # passes the load-time check
    error = refused_at_render(payload)
    assert "sandbox" in str(error) or "undefined" in str(error)


def test_a_refused_template_leaves_no_catalog_and_names_what_it_tried() -> None:
    error = refused_at_load("Hi {{ customer_name }} {{ config }}")
    assert error.code == "template_refused"
    assert "'config'" in str(error) and "not a context variable" in str(error)


@pytest.mark.parametrize("source", ["{{ 1 / 0 }}", "{{ 2.0 ** 60 ** 20 }}"])
def test_arithmetic_errors_name_the_template(source: str) -> None:
    error = refused_at_render(source)
    assert "could not be rendered" in str(error)


def test_small_repetitions_and_powers_still_work() -> None:
    source = "{{ '-' * 3 }}{{ 2 ** 3 }}{{ 3 * 2 }}"
    catalog = TemplateCatalog({NAME: source}, builtins=False)
    rendered = catalog.render(notice(), "sms")
    assert rendered is not None and rendered.text == "---86"


def test_names_the_template_binds_itself_are_allowed() -> None:
    source = (
        "{% set greeting = 'Hi' %}{% for line in lines %}{{ loop.index }}{% endfor %}"
        "{% macro shout(word) %}{{ word|upper }}{% endmacro %}{{ shout(greeting) }}"
    )
    catalog = TemplateCatalog({NAME: source}, builtins=False)
    rendered = catalog.render(notice(), "sms")
    assert rendered is not None and rendered.text == "HI"


def test_every_builtin_passes_the_check() -> None:
    # The catalog checks each template when it loads: building it is the proof.
    assert len(TemplateCatalog().names()) >= 4 * 21 * 3
