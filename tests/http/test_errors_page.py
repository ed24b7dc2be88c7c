"""docs/errors.md lists every problem `type` the server can answer, and nothing else (issue 17, point 5): the codes
are read from the source (DomainError subclasses' `code`, literal codes given to `problem(...)` and the status →
code tables), so a new kind of error fails here until the page has its line; and each error class's status is one
the page gives its code."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import coalition
from coalition.adapters.http.problems import status_of
from coalition.domain.errors import DomainError

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "coalition"
PAGE = ROOT / "docs" / "errors.md"

_CLASS_CODE = re.compile(r'^\s+code(?:: str)? = "([a-z][a-z-]*)"', re.MULTILINE)
_PROBLEM_CALL = re.compile(r'problem\(\s*(\d{3}),\s*"([a-z][a-z-]*)"')
_STATUS_TABLE = re.compile(r'\b(\d{3}): "([a-z][a-z-]*)"')  # {404: "not-found", 405: "method-not-allowed"}
_STATUS_PAIR = re.compile(r'\((\d{3}), "([a-z][a-z-]*)"\)')  # status, code = (413, "file-too-large") if … else …
_FALLBACK = re.compile(r'\.get\([^,()]*status[^,()]*, "([a-z][a-z-]*)"\)')  # ….get(error.status_code, "http-error")
_ROW = re.compile(r"^\| `([a-z][a-z-]*)` \| ([^|]+) \|", re.MULTILINE)


def codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(_CLASS_CODE.findall(text))
        found |= {code for _status, code in _PROBLEM_CALL.findall(text)}
        if "problem" in text:  # the status → code tables of the problem writers
            found |= {code for status, code in _STATUS_TABLE.findall(text) if 400 <= int(status) <= 599}
            found |= {code for status, code in _STATUS_PAIR.findall(text) if 400 <= int(status) <= 599}
            found |= set(_FALLBACK.findall(text))
    return found


def documented() -> dict[str, set[int]]:
    rows = _ROW.findall(PAGE.read_text(encoding="utf-8"))
    return {code: {int(status) for status in re.findall(r"\d{3}", statuses)} for code, statuses in rows}


def _error_classes() -> list[type[DomainError]]:
    for module in pkgutil.walk_packages(coalition.__path__, "coalition."):
        if ".web" in module.name or ".cli" in module.name or module.name.endswith("asgi"):
            continue  # pages and the CLI define no API errors of their own but csrf-rejected (read from the source)
        importlib.import_module(module.name)
    found, todo = [], [DomainError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return found


def test_every_problem_code_of_the_source_is_on_the_errors_page_and_no_other() -> None:
    in_source = codes_in_source()
    on_page = set(documented())
    assert {"invalid-input", "precondition-failed", "database-unavailable", "body-too-large"} <= in_source
    assert {"file-refused", "file-too-large"} <= in_source  # the file routes pick their code from a pair
    assert in_source - on_page == set(), "codes the server answers that docs/errors.md does not list"
    assert on_page - in_source == set(), "codes docs/errors.md lists that the server never answers"


def test_each_error_class_answers_a_status_the_page_gives_its_code() -> None:
    page = documented()
    for kind in _error_classes():
        error = kind.__new__(kind)  # status_of reads only the class
        assert status_of(error) in page[kind.code], (kind.__name__, kind.code, status_of(error), page[kind.code])
