"""Message templates (domain/message_templates.py): defaults in both languages, refusals with the line, rendering."""

from __future__ import annotations

import pytest

from coalition.domain.message_templates import (
    LANGUAGES,
    MAX_SMS_CHARS,
    SAMPLE,
    MessageTemplate,
    TemplateRefused,
    default_template,
    render,
    validate,
)
from coalition.domain.messages import Channel, MessageKind


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_default_is_valid_and_renders_the_sample(kind: MessageKind, channel: Channel, language: str) -> None:
    template = default_template(kind, channel, language)
    validate(kind, channel, template)
    rendered = render(kind, channel, template, SAMPLE)
    assert "Anna" in rendered.body and "{{" not in rendered.body
    assert ("unsubscribe" in rendered.body) == (channel is Channel.EMAIL)
    assert bool(rendered.subject) == (channel is Channel.EMAIL)


def test_the_thank_you_tells_the_new_balance_in_russian() -> None:
    template = default_template(MessageKind.THANK_YOU, Channel.SMS, "ru")
    rendered = render(MessageKind.THANK_YOU, Channel.SMS, template, {**SAMPLE, "balance": 4321})
    assert "Ваш баланс: 4321 баллов" in rendered.body


def refusal(kind: MessageKind, body: str, subject: str = "Hi") -> TemplateRefused:
    with pytest.raises(TemplateRefused) as refused:
        validate(kind, Channel.EMAIL, MessageTemplate(subject=subject, body=body))
    return refused.value


def test_a_syntax_error_is_refused_with_its_line() -> None:
    error = refusal(MessageKind.THANK_YOU, "Hello\n{{ member_name }}\n\nBalance: {{ balance }\nbye")
    assert error.field == "body" and error.line == 4 and error.detail.startswith("line 4:")
    assert "endif" in refusal(MessageKind.THANK_YOU, "Hello\n{% if balance %}\nno end").detail


def test_an_unknown_variable_is_refused_with_its_line_and_the_offered_ones() -> None:
    error = refusal(MessageKind.WELCOME, "Hello {{ member_name }}\n\nYou have {{ gift_name }}")
    assert error.field == "body" and error.line == 3
    assert "'gift_name'" in error.detail and "card_number" in error.detail
    assert refusal(MessageKind.WELCOME, "ok", subject="{{ secret }}").field == "subject"


@pytest.mark.parametrize(
    "body",
    [
        "{{ member_name.__class__ }}",
        "{{ member_name.upper() }}",
        "{% for i in range(10) %}x{% endfor %}",
        "{{ 'x' * 100000000 }}",
        "{{ 9 ** 99999999 }}",
        "{{ '%999999999d' % 1 }}",
        "{{ member_name|center(999999999) }}",
        "{% macro f() %}{{ f() }}{% endmacro %}",
        "{% include 'x' %}",
        "{% set a = member_name ~ member_name %}{% set a = a ~ a %}{{ a }}",
        "{% with a = member_name ~ member_name %}{{ a }}{% endwith %}",
        "{{ member_name|replace('a', 'aaaaaaaaaa')|replace('a', 'aaaaaaaaaa') }}",
    ],
)
def test_what_could_reach_internals_or_grow_without_bound_is_refused(body: str) -> None:
    assert refusal(MessageKind.CAMPAIGN, body).line == 1


def test_conditions_filters_and_arithmetic_are_allowed() -> None:
    body = "{% if balance + 10 > 100 %}{{ member_name|upper }} {{ balance + 10 }}{% else %}small{% endif %}"
    validate(MessageKind.CAMPAIGN, Channel.EMAIL, MessageTemplate("Hi {{ member_name|default('friend') }}", body))
    assert render(MessageKind.CAMPAIGN, Channel.EMAIL, MessageTemplate("x", body), SAMPLE).body == "ANNA 1260"


def test_an_sms_has_no_subject_and_is_cut_to_its_length_an_email_needs_one() -> None:
    with pytest.raises(TemplateRefused) as refused:
        validate(MessageKind.CAMPAIGN, Channel.SMS, MessageTemplate("Subject", "text"))
    assert refused.value.field == "subject"
    with pytest.raises(TemplateRefused) as refused:
        validate(MessageKind.CAMPAIGN, Channel.EMAIL, MessageTemplate(" ", "text"))
    assert refused.value.field == "subject"
    long = MessageTemplate("", "{{ member_name }}" + "x" * 3000)
    assert len(render(MessageKind.CAMPAIGN, Channel.SMS, long, SAMPLE).body) == MAX_SMS_CHARS
