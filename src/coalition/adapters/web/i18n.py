"""Translations: English is the source language; other languages' catalogs are JSON files in `locales/<lang>/`.

A catalog maps an English message to its translation, or, for a message with a count, to its plural forms by CLDR
category (`one`, `few`, `many`, `other`), which Babel picks for the count and the language. Each area keeps its own
file (terminal.json, console.json, …) so that areas are translated independently.

The services' error messages carry values ("no active cashier 'anna' at Corner Shop till"). Their catalog entries
(errors.json) name the values as placeholders, `no active cashier '%(login)s' at %(outlet)s`: a message with no
entry of its own is matched against these patterns, the most specific first, and its values are put into the
translation as they came. The rules page's conflicts, explanations and rule set errors, which the rules domain writes
the same way, have theirs in rules_engine.json.
"""

from __future__ import annotations

import json
import re
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


PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Pattern:
    """A catalog entry with placeholders, as a regular expression over the English message it translates."""

    expression: re.Pattern[str]
    translation: str
    literal_chars: int  # more fixed text is a more specific pattern

    def translate(self, message: str) -> str | None:
        matched = self.expression.fullmatch(message)
        if matched is None:
            return None
        # a value's own text never goes through %-formatting (it may hold a % sign); a literal one is written %%
        parts = PLACEHOLDER.split(self.translation)
        return "".join(
            part.replace("%%", "%") if position % 2 == 0 else matched.group(part) for position, part in enumerate(parts)
        )


def pattern_of(english: str, translation: str) -> Pattern | None:
    """The pattern of an entry whose English names values, or None for a plain entry."""
    parts = PLACEHOLDER.split(english)
    if len(parts) == 1:
        return None
    expression, seen = "", set()
    for position, part in enumerate(parts):
        if position % 2 == 0:
            expression += re.escape(part.replace("%%", "%"))
        elif part in seen:
            expression += f"(?P={part})"
        else:
            seen.add(part)
            expression += f"(?P<{part}>.+?)"
    literal_chars = sum(len(part) for part in parts[::2])
    return Pattern(re.compile(expression, re.DOTALL), translation, literal_chars)


@cache
def patterns(language: str) -> tuple[Pattern, ...]:
    return patterns_in(catalog(language))


def patterns_in(messages: dict[str, Message]) -> tuple[Pattern, ...]:
    found = [
        pattern
        for english, translation in messages.items()
        if isinstance(translation, str) and (pattern := pattern_of(english, translation)) is not None
    ]
    return tuple(sorted(found, key=lambda pattern: -pattern.literal_chars))


@dataclass(frozen=True)
class Translator:
    language: str
    messages: dict[str, Message] = field(repr=False)
    patterns: tuple[Pattern, ...] = field(default=(), repr=False)

    @classmethod
    def for_language(cls, language: str) -> Translator:
        if language == DEFAULT_LANGUAGE:
            return cls(language, {})
        return cls(language, catalog(language), patterns(language))

    def gettext(self, message: str) -> str:
        found = self.messages.get(message)
        return found if isinstance(found, str) else message

    def error(self, message: str) -> str:
        """A service's message, which may carry values: its own entry, else the most specific pattern it fits."""
        found = self.messages.get(message)
        if isinstance(found, str):
            return found
        for pattern in self.patterns:
            translated = pattern.translate(message)
            if translated is not None:
                return translated
        return message

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
