"""Message templates (docs/messages.md): the variables each kind offers, the built-in texts in English and Russian,
and rendering in Jinja2's sandbox with a bounded output.

A template is checked when it is saved: a syntax error or a variable its kind does not offer is refused with the
line at fault (field `subject` or `body`), so a saved template always renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from coalition.domain.errors import InvalidInput
from coalition.domain.messages import Channel, MessageKind

LANGUAGES = ("en", "ru")
MAX_SUBJECT_CHARS = 200
MAX_BODY_CHARS = 4000  # of the template's text
MAX_OUTPUT_CHARS = 8000  # of a rendered e-mail body; an SMS is cut to MAX_SMS_CHARS
MAX_SMS_CHARS = 480

COMMON = ("member_name", "network_name", "balance", "unsubscribe_url")
VARIABLES: dict[MessageKind, tuple[str, ...]] = {
    MessageKind.THANK_YOU: (*COMMON, "points_earned", "points_spent", "outlet"),
    MessageKind.WELCOME: (*COMMON, "card_number"),
    MessageKind.POINTS_EXPIRING: (*COMMON, "points_expiring", "expiry_date", "days_left"),
    MessageKind.GIFT_GRANTED: (*COMMON, "gift_name", "outlet", "expiry_date"),
    MessageKind.BALANCE_THRESHOLD: (*COMMON, "threshold"),
    MessageKind.BIRTHDAY: COMMON,
    MessageKind.CAMPAIGN: (*COMMON, "outlet"),
}

SAMPLE: dict[str, Any] = {
    "member_name": "Anna",
    "network_name": "Sunny Bay",
    "balance": 1250,
    "unsubscribe_url": "https://loyalty.example/unsubscribe/sample",
    "points_earned": 85,
    "points_spent": 0,
    "outlet": "Cafe Wave",
    "card_number": "1000 2000 3000",
    "points_expiring": 300,
    "expiry_date": "2026-12-31",
    "days_left": 7,
    "gift_name": "Ice cream",
    "threshold": 1000,
}


class TemplateRefused(InvalidInput):
    code = "template-invalid"
    title = "The message template is invalid"

    def __init__(self, detail: str, *, field: str, line: int | None = None) -> None:
        super().__init__(detail, field=field)
        self.line = line


@dataclass(frozen=True)
class MessageTemplate:
    subject: str  # e-mail only; an SMS has none (empty)
    body: str


class _Environment(SandboxedEnvironment):
    """No attribute or item of internals (the sandbox's rule), and `_`-names refused as well."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return not attr.startswith("_") and super().is_safe_attribute(obj, attr, value)


_ENV = _Environment(autoescape=False, keep_trailing_newline=False)


def validate(kind: MessageKind, channel: Channel, template: MessageTemplate) -> None:
    """Refuse a template that would not render: its field and line named."""
    if channel is Channel.EMAIL and not template.subject.strip():
        raise TemplateRefused("an e-mail needs a subject", field="subject")
    if channel is Channel.SMS and template.subject.strip():
        raise TemplateRefused("an SMS has no subject; leave it empty", field="subject")
    for name, text, limit in (
        ("subject", template.subject, MAX_SUBJECT_CHARS),
        ("body", template.body, MAX_BODY_CHARS),
    ):
        if name == "body" and not text.strip():
            raise TemplateRefused("the body is empty", field="body")
        if len(text) > limit:
            raise TemplateRefused(f"at most {limit} characters", field=name)
        _check_text(kind, name, text)


def _check_text(kind: MessageKind, field_name: str, text: str) -> None:
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as error:
        raise TemplateRefused(f"line {error.lineno}: {error.message}", field=field_name, line=error.lineno) from None
    _check_constructs(field_name, tree)
    offered = set(VARIABLES[kind])
    assigned = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in offered and node.name not in assigned:
            raise TemplateRefused(
                f"line {node.lineno}: unknown variable {node.name!r}; this kind offers " + ", ".join(VARIABLES[kind]),
                field=field_name,
                line=node.lineno,
            )
    try:  # what parses may still fail on the sample (a filter that does not exist, a forbidden attribute)
        _render_text(text, SAMPLE, MAX_OUTPUT_CHARS)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        where = f"line {line}: " if line else ""
        raise TemplateRefused(f"{where}{error.message or error}", field=field_name, line=line) from None


# A message needs variables, conditions and a few filters. Loops, macros, calls, attribute access, names bound in the
# template, the operators that multiply text (`*`, `**`, `%`) and filters that grow it (replace, center, indent...) are
# refused, so that a saved template's output is at most linear in its own length: bounded time and memory.
_REFUSED_NODES: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.For, "loops are not allowed"),
    (nodes.Macro, "macros are not allowed"),
    (nodes.CallBlock, "call blocks are not allowed"),
    (nodes.Call, "calls are not allowed"),
    (nodes.Getattr, "attributes are not allowed"),
    (nodes.Getitem, "indexing is not allowed"),
    (nodes.Mul, "the * operator is not allowed"),
    (nodes.Pow, "the ** operator is not allowed"),
    (nodes.Mod, "the % operator is not allowed"),
    (nodes.FloorDiv, "the // operator is not allowed"),
    (nodes.Include, "include is not allowed"),
    (nodes.Import, "import is not allowed"),
    (nodes.FromImport, "import is not allowed"),
    (nodes.Extends, "extends is not allowed"),
    (nodes.Block, "blocks are not allowed"),
    # a name bound twice could double its text each time: `{% set a = a ~ a %}` ten times is a thousandfold
    (nodes.Assign, "set is not allowed"),
    (nodes.AssignBlock, "set is not allowed"),
    (nodes.With, "with is not allowed"),
)
ALLOWED_FILTERS = frozenset(
    {"upper", "lower", "title", "capitalize", "default", "d", "trim", "round", "int", "length", "truncate"}
)


def _check_constructs(field_name: str, tree: nodes.Template) -> None:
    for node in tree.find_all(nodes.Node):
        for kind, why in _REFUSED_NODES:
            if isinstance(node, kind):
                raise TemplateRefused(f"line {node.lineno}: {why}", field=field_name, line=node.lineno)
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise TemplateRefused(
                f"line {node.lineno}: the filter {node.name!r} is not allowed; allowed: "
                + ", ".join(sorted(ALLOWED_FILTERS)),
                field=field_name,
                line=node.lineno,
            )


@lru_cache(maxsize=256)
def _compiled(text: str) -> Template:
    """A text compiled once (the outbox renders the same few templates thousands of times)."""
    return _ENV.from_string(text)


def _render_text(text: str, variables: dict[str, Any], limit: int) -> str:
    pieces: list[str] = []
    size = 0
    for piece in _compiled(text).generate(**variables):
        pieces.append(piece)
        size += len(piece)
        if size > limit:  # stop a runaway loop's output here, not after it filled the memory
            break
    return "".join(pieces)[:limit]


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def render(kind: MessageKind, channel: Channel, template: MessageTemplate, variables: dict[str, Any]) -> Rendered:
    """The message's text: only the kind's variables are given (a missing one renders empty), the output bounded."""
    given = {name: variables.get(name, "") for name in VARIABLES[kind]}
    try:
        subject = _render_text(template.subject, given, MAX_SUBJECT_CHARS) if channel is Channel.EMAIL else ""
        body = _render_text(template.body, given, MAX_SMS_CHARS if channel is Channel.SMS else MAX_OUTPUT_CHARS)
    except (TemplateError, SecurityError) as error:
        raise TemplateRefused(str(error), field="body") from None
    return Rendered(subject=" ".join(subject.split()), body=body.strip())


_TEXTS: dict[tuple[MessageKind, str], tuple[str, str]] = {
    (MessageKind.THANK_YOU, "en"): (
        "Thank you for your purchase",
        "Thank you, {{ member_name }}! You earned {{ points_earned }} points at {{ outlet }}. "
        "Your balance is {{ balance }} points.",
    ),
    (MessageKind.THANK_YOU, "ru"): (
        "Спасибо за покупку",
        "Спасибо, {{ member_name }}! Вам начислено {{ points_earned }} баллов в «{{ outlet }}». "
        "Ваш баланс: {{ balance }} баллов.",
    ),
    (MessageKind.WELCOME, "en"): (
        "Welcome to {{ network_name }}",
        "Welcome, {{ member_name }}! Your card {{ card_number }} collects points at every purchase.",
    ),
    (MessageKind.WELCOME, "ru"): (
        "Добро пожаловать в {{ network_name }}",
        "Добро пожаловать, {{ member_name }}! Ваша карта {{ card_number }} копит баллы с каждой покупки.",
    ),
    (MessageKind.POINTS_EXPIRING, "en"): (
        "{{ points_expiring }} points expire in {{ days_left }} days",
        "{{ member_name }}, {{ points_expiring }} of your points expire on {{ expiry_date }}. "
        "Your balance is {{ balance }} points.",
    ),
    (MessageKind.POINTS_EXPIRING, "ru"): (
        "{{ points_expiring }} баллов сгорят через {{ days_left }} дн.",
        "{{ member_name }}, {{ points_expiring }} ваших баллов сгорят {{ expiry_date }}. "
        "Ваш баланс: {{ balance }} баллов.",
    ),
    (MessageKind.GIFT_GRANTED, "en"): (
        "A gift for you: {{ gift_name }}",
        "{{ member_name }}, you have a gift: {{ gift_name }}. Show your card to receive it.",
    ),
    (MessageKind.GIFT_GRANTED, "ru"): (
        "Вам подарок: {{ gift_name }}",
        "{{ member_name }}, вам подарок: {{ gift_name }}. Покажите карту, чтобы его получить.",
    ),
    (MessageKind.BALANCE_THRESHOLD, "en"): (
        "You have {{ balance }} points",
        "{{ member_name }}, your balance reached {{ balance }} points: more than {{ threshold }}. Time to spend them!",
    ),
    (MessageKind.BALANCE_THRESHOLD, "ru"): (
        "У вас {{ balance }} баллов",
        "{{ member_name }}, на вашем счёте {{ balance }} баллов — больше {{ threshold }}. Самое время их потратить!",
    ),
    (MessageKind.BIRTHDAY, "en"): (
        "Happy birthday, {{ member_name }}!",
        "Happy birthday, {{ member_name }}! {{ network_name }} wishes you a wonderful day.",
    ),
    (MessageKind.BIRTHDAY, "ru"): (
        "С днём рождения, {{ member_name }}!",
        "С днём рождения, {{ member_name }}! {{ network_name }} желает вам чудесного дня.",
    ),
    (MessageKind.CAMPAIGN, "en"): ("News from {{ network_name }}", "{{ member_name }}, we have news for you."),
    (MessageKind.CAMPAIGN, "ru"): ("Новости {{ network_name }}", "{{ member_name }}, у нас для вас новости."),
}
_UNSUBSCRIBE = {
    "en": "\n\nTo stop these messages: {{ unsubscribe_url }}",
    "ru": "\n\nЧтобы отказаться от этих сообщений: {{ unsubscribe_url }}",
}


def default_template(kind: MessageKind, channel: Channel, language: str) -> MessageTemplate:
    """The built-in text: an e-mail has a subject and the unsubscribe link; an SMS is the short text alone."""
    if language not in LANGUAGES:
        raise InvalidInput(f"the language must be one of {', '.join(LANGUAGES)}", field="language")
    subject, text = _TEXTS[(kind, language)]
    if channel is Channel.SMS:
        return MessageTemplate(subject="", body=text)
    return MessageTemplate(subject=subject, body=text + _UNSUBSCRIBE[language])
