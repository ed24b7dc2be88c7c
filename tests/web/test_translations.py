"""Every message in the pages' templates has a Russian translation, and pages follow the reader's language."""

from __future__ import annotations

import pytest

from coalition.adapters.web.i18n import LANGUAGES, Translator, catalog, negotiate
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
