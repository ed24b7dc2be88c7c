"""Translations: English is the source language; other languages' catalogs are JSON files in `locales/<lang>/`.

A catalog maps an English message to its translation, or, for a message with a count, to its plural forms by CLDR
category (`one`, `few`, `many`, `other`), which Babel picks for the count and the language. Each area keeps its own
file (terminal.json, console.json, …) so that areas are translated independently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel import Locale

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES: dict[str, str] = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"

Message = str | dict[str, str]


@cache
def catalog(language: str) -> dict[str, Message]:
    merged: dict[str, Message] = {}
    folder = LOCALES_DIR / language
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


@dataclass(frozen=True)
class Translator:
    language: str
    messages: dict[str, Message] = field(repr=False)

    @classmethod
    def for_language(cls, language: str) -> Translator:
        return cls(language, catalog(language) if language != DEFAULT_LANGUAGE else {})

    def gettext(self, message: str) -> str:
        found = self.messages.get(message)
        return found if isinstance(found, str) else message

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        found = self.messages.get(singular)
        if isinstance(found, dict):
            category = Locale.parse(self.language).plural_form(abs(count))
            return found.get(category) or found.get("other") or plural
        return singular if count == 1 else plural


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The language a switch chose, else the browser's first supported preference, else English."""
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((quality, tag.strip().lower().split("-")[0]))
    for _quality, language in sorted(ranked, key=lambda item: -item[0]):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE
