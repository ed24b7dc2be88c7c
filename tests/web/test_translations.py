"""Every message in the pages' templates has a Russian translation, and pages follow the reader's language."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import coalition
from coalition.adapters.web.i18n import (
    LANGUAGES,
    LOCALES_DIR,
    PLACEHOLDER,
    Message,
    Translator,
    catalog,
    negotiate,
    patterns_in,
)
from coalition.adapters.web.templating import TEMPLATES_DIR, environment
from coalition.domain import errors
from coalition.wiring import Services
from tests.support import client, make_network
from tests.web.support import csrf_token, sign_in_console
from tests.web.test_console_rules import TIED

SOURCE_DIR = Path(coalition.__file__).parent


def _template_messages() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for _line, _function, message in environment.extract_translations(source):
            singular = message[0] if isinstance(message, tuple) else message
            if singular:
                found.setdefault(singular, set()).add(str(path.relative_to(TEMPLATES_DIR)))
    return found


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {"en"}))
def test_every_template_message_is_translated(language: str) -> None:
    messages = catalog(language)
    missing = {message: sorted(where) for message, where in _template_messages().items() if message not in messages}
    assert missing == {}


def test_russian_plurals_follow_cldr_categories() -> None:
    ru = Translator("ru", {"%(num)s point": {"one": "%(num)s балл", "few": "%(num)s балла", "many": "%(num)s баллов"}})
    assert [ru.ngettext("%(num)s point", "%(num)s points", n) % {"num": n} for n in (1, 3, 5, 21)] == [
        "1 балл",
        "3 балла",
        "5 баллов",
        "21 балл",
    ]


def test_the_language_comes_from_the_switch_then_the_browser_then_english() -> None:
    assert negotiate("ru", "en-GB,en;q=0.9") == "ru"
    assert negotiate(None, "de-DE,ru;q=0.8,en;q=0.5") == "ru"
    assert negotiate(None, "de-DE") == "en"
    assert negotiate("xx", None) == "en"


@pytest.mark.anyio
async def test_a_page_answers_in_russian_to_a_russian_browser_and_remembers_a_switch(services: Services) -> None:
    async with client(services) as http:
        page = await http.get("/terminal/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
        assert page.headers["content-language"] == "ru"
        assert "Вход для кассира" in page.text
        switched = await http.get("/terminal/login?lang=en", headers={"Accept-Language": "ru"})
        assert "Cashier sign-in" in switched.text
        assert (await http.get("/console/login", headers={"Accept-Language": "ru"})).headers[
            "content-language"
        ] == "en"  # the switch's choice is kept in a cookie
        missing = await http.get("/console/no-such-page", headers={"Accept-Language": "ru"})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")


def test_a_template_plural_names_its_count_as_it_likes_and_escapes_values() -> None:
    from coalition.adapters.web.templating import _translator, environment

    source = (
        "{% trans count=n %}{{ count }} point{% pluralize %}{{ count }} points{% endtrans %}; "
        '{{ _("Hello %(name)s", name=who) }}'
    )
    token = _translator.set(
        Translator(
            "ru", {"%(count)s point": {"one": "%(count)s балл", "few": "%(count)s балла", "many": "%(count)s баллов"}}
        )
    )
    try:
        assert environment.from_string(source).render(n=22, who="<b>") == "22 балла; Hello &lt;b&gt;"
    finally:
        _translator.reset(token)
    assert environment.from_string(source).render(n=1, who="Anna") == "1 point; Hello Anna"


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {"en"}))
def test_no_two_catalog_files_translate_one_message_differently(language: str) -> None:
    """Catalogs merge into one: a message translated twice, differently, would read right on one page only."""
    seen: dict[str, dict[str, object]] = {}
    for path in sorted((LOCALES_DIR / language).glob("*.json")):
        for message, translation in json.loads(path.read_text(encoding="utf-8")).items():
            seen.setdefault(message, {})[path.name] = translation
    clashes = {
        message: by_file
        for message, by_file in seen.items()
        if len({json.dumps(t, sort_keys=True, ensure_ascii=False) for t in by_file.values()}) > 1
    }
    assert clashes == {}


def _service_messages() -> dict[str, str]:
    """Every message a service's DomainError can carry to a page, as a catalog key, with where it is raised.

    Read from the source: `raise SomeError("…")`, `raise SomeError(f"…{value}…")` (a key names each value as a
    placeholder) and `raise SomeError(A_CONSTANT)`, in the domain and application layers, and every error's title."""
    error_classes = {
        name: value
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.DomainError)
    }
    error_names = set(error_classes)
    found: dict[str, str] = {}
    for cls in error_classes.values():
        found.setdefault(cls.title, "domain/errors.py")
    for layer in ("domain", "application"):
        for path in sorted((SOURCE_DIR / layer).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {
                target.id: node.value.value
                for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                for target in node.targets
                if isinstance(target, ast.Name) and isinstance(node.value.value, str)
            }
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if called not in error_names:
                    continue
                key = _catalog_key(node.args[0], constants)
                if key is not None:
                    found.setdefault(key, f"{path.relative_to(SOURCE_DIR)}:{node.lineno}")
    return found


def _catalog_key(argument: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return argument.value
    if isinstance(argument, ast.Name):
        return constants.get(argument.id)
    if isinstance(argument, ast.JoinedStr):
        parts = []
        for number, value in enumerate(argument.values):
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("%", "%%"))
            else:
                parts.append(f"%(value{number})s")
        return "".join(parts)
    return None


def _shape(key: str) -> str:
    """A key with its placeholders' names left out: the test matches shapes, translators name values freely."""
    return PLACEHOLDER.sub("%(…)s", key)


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {"en"}))
def test_every_service_error_message_is_translated(language: str) -> None:
    """A Russian page shows a refusal in Russian, whatever the service that refused and whatever values it names."""
    shapes = {_shape(key) for key in catalog(language)}
    missing = {key: where for key, where in _service_messages().items() if _shape(key) not in shapes}
    assert missing == {}


RULES_DIR = SOURCE_DIR / "domain" / "rules"
# The calls that carry a text of the rules domain to the rules page, and which argument holds it (by position, or by
# keyword): a conflict's message, an explanation's reason, and a rule set's errors (a PathError, a model check's
# `_require`, a condition's ExpressionError).
_RULES_TEXT_ARGUMENTS = {
    "Finding": (3, "message"),
    "RuleOutcome": (2, "reason"),
    "PathError": (0, "detail"),
    "ExpressionError": (0, "message"),
    "BudgetError": (0, "message"),  # a condition over its cost budget, carried by an ExpressionError
    "DocumentError": (0, "detail"),  # a rule set document over its size or nesting limit
    "_require": (1, "message"),
}
_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _rules_texts() -> dict[str, str]:
    """Every text of the rules domain the rules page can show (conflicts, explanations, a rule set's errors), as a
    catalog key, with where it is written.

    Read from the source as `_service_messages` reads raises. A variable that holds one of several texts is followed
    (`reason = "…"` then `f"{rule.code} can never fire: {reason}"`; `how = "exclusive" if … else "best-of"`; `reason =
    _why_not(…)`, whose returns are the texts), so each text it can hold gives a key of its own; any other value in
    an f-string is a placeholder, and a text that is only a value (`PathError(error.detail)`) is left to its source."""
    found: dict[str, str] = {}
    for path in sorted(RULES_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {node.name: node for node in tree.body if isinstance(node, _Function)}
        scopes: list[ast.Module | _Function] = [tree]
        scopes += [node for node in ast.walk(tree) if isinstance(node, _Function)]
        for scope in scopes:
            texts = _Texts(scope, functions)
            for node in _own_nodes(scope):
                if not isinstance(node, ast.Call):
                    continue
                called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if called not in _RULES_TEXT_ARGUMENTS:
                    continue
                position, keyword = _RULES_TEXT_ARGUMENTS[called]
                argument = (
                    node.args[position]
                    if len(node.args) > position
                    else next((item.value for item in node.keywords if item.arg == keyword), None)
                )
                # an ExpressionError given its place ends "… at line 1, column 5"
                placed = called == "ExpressionError" and any(item.arg == "line" for item in node.keywords)
                keys = texts.of(argument) if argument is not None else None
                for key in keys or ():
                    key += " at line %(value)s, column %(value)s" if placed else ""
                    plain = key.replace("%%", "%") if PLACEHOLDER.search(key) is None else key
                    found.setdefault(plain, f"{path.relative_to(SOURCE_DIR)}:{node.lineno}")
    return found


def _own_nodes(scope: ast.Module | _Function) -> list[ast.AST]:
    """The nodes of a module or function, without those of the functions defined inside it."""
    nodes: list[ast.AST] = []
    pending: list[ast.AST] = list(scope.body)
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, _Function))
    return nodes


class _Texts:
    """The texts an expression of one function can be, as catalog keys (a literal % written %%)."""

    def __init__(self, scope: ast.Module | _Function, functions: dict[str, _Function]) -> None:
        self.functions = functions
        self.assigned: dict[str, list[ast.expr]] = {}
        for node in _own_nodes(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.assigned.setdefault(target.id, []).append(node.value)
        self.following: set[str] = set()

    def of(self, node: ast.expr) -> list[str] | None:
        """None when the expression is not a text this reading can follow (a value)."""
        if isinstance(node, ast.Constant):
            if node.value is None:
                return []
            return [node.value.replace("%", "%%")] if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            keys = [""]
            for part in node.values:
                if isinstance(part, ast.Constant):
                    options = [str(part.value).replace("%", "%%")]
                else:
                    assert isinstance(part, ast.FormattedValue)
                    followed = self.of(part.value) if isinstance(part.value, ast.Name) else None
                    options = followed or ["%(value)s"]
                keys = [key + option for key in keys for option in options]
            return keys
        if isinstance(node, ast.IfExp):
            return self._all([node.body, node.orelse])
        if isinstance(node, ast.Name) and node.id in self.assigned and node.id not in self.following:
            self.following.add(node.id)
            try:
                return self._all(self.assigned[node.id])
            finally:
                self.following.discard(node.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.functions:
            function = self.functions[node.func.id]
            returned = [item.value for item in _own_nodes(function) if isinstance(item, ast.Return) and item.value]
            return _Texts(function, self.functions)._all(returned)
        return None

    def _all(self, nodes: list[ast.expr]) -> list[str] | None:
        keys: list[str] = []
        for node in nodes:
            found = self.of(node)
            if found is None:
                return None
            keys += found
        return keys


def test_the_rules_texts_are_read_from_the_source_each_text_a_variable_can_hold_apart() -> None:
    shapes = {_shape(key) for key in _rules_texts()}
    assert {
        "%(…)s can never fire: its scope names no partner or outlet of this network",
        "%(…)s can never fire: its window ended at %(…)s",
        "%(…)s applied instead (best-of group '%(…)s')",
        "%(…)s applied instead (exclusive group '%(…)s')",
        "its condition is false: %(…)s",
        "applied",
        "syntax error: %(…)s at line %(…)s, column %(…)s",
        "a percent must be between 0 and 100",
        "expected a text of at most %(…)s characters",
    } <= shapes


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {"en"}))
def test_every_rules_text_is_translated(language: str) -> None:
    """The rules page shows a draft's conflicts, an explanation's reasons and a rule set's errors in Russian."""
    shapes = {_shape(key) for key in catalog(language)}
    missing = {key: where for key, where in _rules_texts().items() if _shape(key) not in shapes}
    assert missing == {}


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {"en"}))
def test_a_pattern_translation_uses_only_the_values_its_english_names(language: str) -> None:
    wrong = {
        english: translation
        for english, translation in catalog(language).items()
        if isinstance(translation, str)
        and set(PLACEHOLDER.findall(translation)) != set(PLACEHOLDER.findall(english))
        and PLACEHOLDER.search(english)
    }
    assert wrong == {}


def test_a_message_with_values_is_translated_by_its_pattern_values_kept_verbatim() -> None:
    messages: dict[str, Message] = {
        "no active cashier '%(login)s' at %(outlet)s": "нет активного кассира «%(login)s» в точке %(outlet)s",
        "no active cashier '%(login)s' at Corner Shop till": "особый случай: %(login)s",
        "a share of %(bp)s bp is over 100 %%": "доля %(bp)s б. п. больше 100 %%",
        "exactly this": "ровно это",
    }
    ru = Translator("ru", messages, patterns_in(messages))
    assert ru.error("no active cashier 'anna' at Café counter") == "нет активного кассира «anna» в точке Café counter"
    assert ru.error("no active cashier 'anna' at Corner Shop till") == "особый случай: anna"  # the more specific
    assert ru.error("a share of 10 %(x)s bp is over 100 %") == "доля 10 %(x)s б. п. больше 100 %"
    assert ru.error("exactly this") == "ровно это"
    assert ru.error("no such message") == "no such message"
    assert Translator.for_language("en").error("no active cashier 'anna' at X") == "no active cashier 'anna' at X"


RUSSIAN = {"Accept-Language": "ru-RU,ru;q=0.9"}


async def _administrator(services: Services) -> int:
    """A network with an administrator who signs in at /console; its first partner's id."""
    network = await make_network(services)
    await services.web_sessions.add_console_user(
        network.ref.id, "administrator", None, "admin", "Admin", "admin-secret-1"
    )
    return int((await services.admin.listing(network.ref))["partners"][0]["id"])


@pytest.mark.anyio
async def test_the_rules_page_says_a_drafts_conflicts_and_an_explanation_in_russian(services: Services) -> None:
    await _administrator(services)
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = csrf_token((await http.get("/console/rules", headers=RUSSIAN)).text)
        saved = await http.post("/console/rules/draft", data={"draft": TIED, "csrf_token": token}, headers=RUSSIAN)
        assert saved.status_code == 200
        assert (
            "Правила card-5 и card-7 могут сработать на одной покупке в исключающей группе «card» "
            "с одинаковым приоритетом (0): повысьте приоритет одного из них" in saved.text
        )
        assert "can fire on the same purchase" not in saved.text
        assert "Ошибка: исключающие правила без порядка между ними" in saved.text

        explained = await http.post(
            "/console/rules/explain", data={"amount": "6000.00", "csrf_token": token}, headers=RUSSIAN
        )
        assert explained.status_code == 200
        assert "вместо него применено правило card-5 (исключающая группа «card»)" in explained.text
        assert "<td>применено</td>" in explained.text and "applied instead" not in explained.text

        refused = await http.post("/console/rules/publish", data={"csrf_token": token}, headers=RUSSIAN)
        assert refused.status_code == 409
        assert "Не опубликовано: в черновике конфликтов-ошибок: 1. Правила card-5 и card-7 могут" in refused.text

        bad_amount = await http.post(
            "/console/rules/explain", data={"amount": "12 apples", "csrf_token": token}, headers=RUSSIAN
        )
        assert bad_amount.status_code == 422
        assert "«12 apples» — не сумма: нужно неотрицательное десятичное число" in bad_amount.text

        english = await http.post("/console/rules/publish", data={"csrf_token": token})
        assert "Not published: the draft has 1 conflict(s) that are errors: card-5 and card-7 can fire" in english.text


@pytest.mark.anyio
async def test_a_refusal_naming_a_value_reads_in_russian_with_the_value_as_typed(services: Services) -> None:
    partner_id = await _administrator(services)
    async with client(services) as http:
        await sign_in_console(http, "shop", "admin", "admin-secret-1")
        token = csrf_token((await http.get("/console/partners", headers=RUSSIAN)).text)
        refused = await http.post(
            f"/console/partners/{partner_id}/email",
            data={"email": "anna@@shop", "csrf_token": token},
            headers=RUSSIAN,
        )
        assert refused.status_code == 422
        assert "«anna@@shop» — не адрес электронной почты" in refused.text
        assert "is not an e-mail address" not in refused.text
        taken = await http.post("/console/partners", data={"name": "Cafe", "csrf_token": token}, headers=RUSSIAN)
        assert taken.status_code == 409 and "партнёр «Cafe» уже есть" in taken.text


def _anomaly_messages() -> set[str]:
    """The sentences of the daily report's anomaly flags: the message each `Anomaly(kind, message, ...)` names."""
    tree = ast.parse((SOURCE_DIR / "domain" / "anomalies.py").read_text(encoding="utf-8"))
    return {
        ast.literal_eval(node.args[1])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Anomaly"
    }


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {"en"}))
def test_every_anomaly_sentence_is_translated_with_the_same_values(language: str) -> None:
    messages = catalog(language)
    found = _anomaly_messages()
    assert len(found) == 6  # one per kind of flag
    assert {message for message in found if message not in messages} == set()
    for message in found:
        translated = messages[message]
        assert isinstance(translated, str)
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(message)), message
