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
from tests.support import client

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
