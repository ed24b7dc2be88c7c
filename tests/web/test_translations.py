"""Every message in the pages' templates has a Russian translation, and pages follow the reader's language."""

from __future__ import annotations

import json

import pytest

from coalition.adapters.web.i18n import LANGUAGES, LOCALES_DIR, Translator, catalog, negotiate
from coalition.adapters.web.templating import TEMPLATES_DIR, environment
from coalition.wiring import Services
from tests.support import client


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
