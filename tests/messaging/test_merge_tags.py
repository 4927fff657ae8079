"""Merge tags: rendering, defaults, the seed's {FirstName} style, save-time validation with
positions, the sandbox, and a failure for one recipient that stays with that recipient."""
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from liquid.exceptions import LiquidError

from textpilot.common.errors import FieldError
from textpilot.messaging.merge_context import DEFAULT_UNSUBSCRIBE_TEXT, build_context, sample_context
from textpilot.messaging.templates import (
    ENVIRONMENT,
    TemplateError,
    TemplateRenderError,
    compile_template,
    translate_seed_tags,
    validate_template,
)

STORE = SimpleNamespace(name="Acme Outdoors", sender_name="Acme", domain="acme.example")
ANN = SimpleNamespace(first_name="Ann", last_name="Lee")
NAMELESS = SimpleNamespace(first_name="", last_name="")


def render(text, profile=ANN, **extra):
    return compile_template(text).render(build_context(STORE, profile, extra))


def test_profile_store_and_send_tags():
    text = "{{ store.brand }}: Hi {{ first_name }} {{ last_name }}! Code {{ discount_code }}: {{ discount_url }} {{ unsubscribe_text }}"
    assert render(text, discount_code="SAVE20", discount_url="https://acme.example/l/x") == (
        f"Acme: Hi Ann Lee! Code SAVE20: https://acme.example/l/x {DEFAULT_UNSUBSCRIBE_TEXT}"
    )
    assert render("{{ store.name }} {{ store.url }}") == "Acme Outdoors https://acme.example"


def test_default_applies_to_a_missing_first_name():
    assert render('Hi {{ first_name | default: "there" }}!', profile=NAMELESS) == "Hi there!"
    assert render('Hi {{ first_name | default: "there" }}!') == "Hi Ann!"
    assert render("Hi {{ first_name }}!", profile=None) == "Hi !"


def test_order_tags_from_a_mapping_and_from_an_order_object():
    text = "Order {{ order.number }} ({{ order.id }}) {{ order.total }} {{ order.currency }} via {{ order.shipping.carrier }}: {{ order.shipping.tracking_url }}"
    shipping = {"carrier": "UPS", "tracking_url": "https://ups.example/t/1Z", "tracking_number": "1Z"}
    as_mapping = {"id": "55123", "number": "#1042", "total": Decimal("129.9"), "currency": "USD", "shipping": shipping}
    as_object = SimpleNamespace(external_id="55123", order_number="#1042", total=Decimal("129.90"), currency="USD", shipping=shipping)
    expected = "Order #1042 (55123) 129.90 USD via UPS: https://ups.example/t/1Z"
    assert render(text, order=as_mapping) == expected
    assert render(text, order=as_object) == expected
    assert render("{{ order.number }}", order={"id": "55123"}) == "55123"  # no number: the id
    product = SimpleNamespace(title="Trail Jacket", url="https://acme.example/p/jacket")
    assert render("{{ product.title }} {{ product.url }}", product=product) == "Trail Jacket https://acme.example/p/jacket"


def test_unknown_extra_is_a_programming_error():
    with pytest.raises(ValueError, match="coupon"):
        build_context(STORE, ANN, {"coupon": "X"})


def test_seed_style_tags_are_translated():
    seed = "{SiteName} : 안녕하세요 {FirstName} 님! {DiscountCodeUrl} . {DiscountCode} 코드. 옵트아웃하려면 STOP이라고 응답하세요."
    assert translate_seed_tags(seed).source == (
        "{{ store.name }} : 안녕하세요 {{ first_name }} 님! {{ discount_url }} . {{ discount_code }} 코드. 옵트아웃하려면 STOP이라고 응답하세요."
    )
    assert render(seed, discount_url="https://acme.example/l/d", discount_code="WINTER15").startswith(
        "Acme Outdoors : 안녕하세요 Ann 님! https://acme.example/l/d . WINTER15 코드."
    )
    assert render("{CheckoutUrl} {OrderId}", checkout_url="https://acme.example/l/c", order={"number": "#7"}) == "https://acme.example/l/c #7"


def test_seed_translation_leaves_liquid_and_ordinary_braces_alone():
    text = '{{ first_name | default: "{FirstName}" }} {Sale} {NEW} {% if first_name %}{FirstName}{% endif %}'
    assert translate_seed_tags(text).source == (
        '{{ first_name | default: "{FirstName}" }} {Sale} {NEW} {% if first_name %}{{ first_name }}{% endif %}'
    )
    assert render("{% raw %}{FirstName} {{ x }}{% endraw %} {FirstName}") == "{FirstName} {{ x }} Ann"


def test_validation_returns_the_liquid_and_the_tags_used():
    info = validate_template("{SiteName}: Hi {{ first_name | default: 'there' }} {{ discount_url }}", "campaign")
    assert info.liquid == "{{ store.name }}: Hi {{ first_name | default: 'there' }} {{ discount_url }}"
    assert info.variables == ("store.name", "first_name", "discount_url")
    # locals and loop variables are not merge tags
    assert validate_template("{% assign g = 'Hi' %}{{ g }} {% for i in (1..2) %}{{ forloop.index }}{% endfor %}").variables == ()


@pytest.mark.parametrize(
    "text, context_kind, line, column, fragment",
    [
        ("Hi {{ frist_name }}", "campaign", 1, 7, "unknown merge tag 'frist_name' (did you mean 'first_name'?)"),
        ("Hi\n  there {FristName}", "campaign", 2, 9, "unknown merge tag {FristName}"),
        ("Hi {{ first_name", "campaign", 1, 4, "expected '}}'"),
        ("{% if first_name %}Hi", "campaign", 1, 22, "at the end of the template"),
        ("Hi {{ first_name | upcasee }}", "campaign", 1, 20, "unknown filter 'upcasee' (did you mean 'upcase'?)"),
        ("{% include 'secrets' %}", "all", 1, 4, "the tag 'include' is not allowed"),
        ("Track: {{ order.shipping.tracking_url }}", "campaign", 1, 11, "unknown merge tag 'order.shipping.tracking_url'"),
        ("Hi {FirstName}, {CheckoutUrl}", "campaign", 1, 17, "written as {CheckoutUrl}"),
        ("{FirstName} {{ bogus }}", "all", 1, 16, "unknown merge tag 'bogus'"),  # column in the text as written
        ("{% nosuch %}", "all", 1, 4, "unexpected tag 'nosuch'"),
    ],
)
def test_invalid_templates_are_refused_at_save_with_the_position(text, context_kind, line, column, fragment):
    with pytest.raises(TemplateError) as caught:
        validate_template(text, context_kind)
    error = caught.value
    assert isinstance(error, FieldError) and error.field == "body"
    assert (error.line, error.column) == (line, column), error.message
    assert fragment in error.message
    assert error.as_detail()[0]["line"] == line


def test_tags_allowed_depend_on_what_the_send_knows():
    text = "{{ order.number }} {{ order.shipping.tracking_url }} {% if order.shipping %}x{% endif %}"
    assert validate_template(text, "order").variables == ("order.number", "order.shipping.tracking_url", "order.shipping")
    assert validate_template("{{ checkout_url }}", "checkout").variables == ("checkout_url",)
    with pytest.raises(TemplateError):
        validate_template("{{ checkout_url }}", "order")
    with pytest.raises(FieldError) as caught:
        validate_template("Hi", "newsletter")
    assert caught.value.field == "context_kind"


def test_a_missing_value_fails_that_message_only():
    template = compile_template("Your order {{ order.number }} shipped")
    contexts = [build_context(STORE, ANN, {"order": {"number": "#1"}}), build_context(STORE, ANN), build_context(STORE, ANN, {"order": {"number": "#3"}})]
    results = []
    for context in contexts:
        try:
            results.append(template.render(context))
        except TemplateRenderError as exc:
            results.append(f"failed: {exc.reason}")
    assert results == ["Your order #1 shipped", "failed: 'order' is undefined", "Your order #3 shipped"]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{% for i in (1..100000000) %}x{% endfor %}", "loop iteration limit"),
        ("{% assign s = 'xxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}", "namespace limit"),
        ("{% for i in (1..900) %}{{ 'abcdefghijklmnopqrstuvwxyz' }}{% endfor %}", "output stream limit"),
        ("{% for i in (1..100) %}{{ 'abcdefghijklmnopqrstuvwxyz' }}{% endfor %}", "the most is 1600"),
    ],
)
def test_sandbox_limits_stop_runaway_templates(text, reason):
    validate_template(text)  # syntactically fine: only rendering can catch these
    with pytest.raises(TemplateRenderError, match=reason):
        compile_template(text).render({})


def test_templates_cannot_reach_python_internals():
    for text in ("{{ store.__class__ }}", "{{ first_name.__class__.__mro__ }}", "{{ store.name.__globals__ }}"):
        with pytest.raises(TemplateError, match="unknown merge tag"):
            validate_template(text)
    # Even with a Python object in the context (build_context never puts one there),
    # Liquid reads items, not attributes.
    secret_holder = SimpleNamespace(name="visible", secret="hidden")
    for text in ("{{ thing.secret }}", "{{ thing.__dict__ }}", "{{ thing.__class__.__init__.__globals__ }}"):
        with pytest.raises(TemplateRenderError, match="undefined"):
            compile_template(text).render({"thing": secret_holder})
    assert all(isinstance(v, (str, dict)) for v in build_context(STORE, ANN).values())


def test_sample_context_fills_every_tag_with_the_store_names():
    context = sample_context(STORE)
    assert context["store"]["name"] == "Acme Outdoors" and context["first_name"] == "Alexandra"
    text = "{{ order.shipping.tracking_url }} {{ checkout_url }} {{ product.title }}"
    assert "{{" not in compile_template(text).render(context)


def test_compiled_templates_are_parsed_once():
    assert compile_template("Hi {{ first_name }}") is compile_template("Hi {{ first_name }}")


# --- the fast path for plain templates renders exactly what Liquid renders ---------------

values = st.one_of(
    st.text(max_size=5), st.none(), st.booleans(), st.integers(-5, 5),
    st.decimals(min_value=-10, max_value=10, places=2, allow_nan=False), st.lists(st.text(max_size=2), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.text(max_size=2), max_size=2),
)
contexts = st.dictionaries(
    st.sampled_from(["a", "b", "c"]), st.one_of(values, st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2)), max_size=3
)
paths = st.sampled_from(["a", "b", "c", "a.a", "a.b", "b.a", "a.size", "a.first"])
outputs = st.tuples(paths, st.one_of(st.none(), st.sampled_from(["", "there", "0"]))).map(
    lambda item: "{{ " + item[0] + (f' | default: "{item[1]}"' if item[1] is not None else "") + " }}"
)
plain_templates = st.lists(st.one_of(st.sampled_from(["Hi ", "!", " ", "x\n"]), outputs), min_size=1, max_size=5).map("".join)


@settings(max_examples=1500, deadline=None)
@given(plain_templates, contexts)
def test_fast_path_matches_liquid(text, context):
    compiled = compile_template(text)
    assert compiled._plan is not None
    try:
        expected = ENVIRONMENT.from_string(text).render(context)
    except LiquidError:
        expected = TemplateRenderError
    try:
        actual = compiled.render(context)
    except TemplateRenderError:
        actual = TemplateRenderError
    assert actual == expected
