"""The web pages read the application's typed results (minor units, points, basis points), never parse an answer's
formatted strings back into numbers or moments (issue 13): a parser of amounts, shares or moments may be called in a
page module only by the functions named here, which read what a person typed into a form.

Checked from the source text: every call of a parser anywhere in src/coalition/adapters/web, by name or through its
module, must sit inside an allowed function. Pages that still read a service's string answer are listed apart; that
list must shrink to empty, and an entry that no longer offends fails the test, so it cannot outlive its reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import coalition

WEB = Path(coalition.__file__).parent / "adapters" / "web"
PARSERS = {"parse_amount_minor", "parse_basis_points", "parse_percent_bp", "fromisoformat"}

# (module, function): they parse form input, what the cashier or the administrator typed
READS_FORM_INPUT = {
    ("console_campaigns.py", "_local_moment"),  # the datetime-local field of a campaign's time to send
    ("terminal.py", "read_amount"),  # the check's amount as the cashier types it ("1 500,50")
    ("console_rules.py", "explain"),  # the hypothetical purchase the administrator asks the rules about
    ("console_settlement.py", "set_points_breakage"),  # the share of breakage a policy gives
    ("console_audit.py", "_day"),  # the days the administrator filters the audit log by
    ("console_reports.py", "typed_date"),  # a report's first and last day
    ("console_program_reports.py", "threshold_form"),  # the threshold helper's old threshold and base period
    ("console_program_reports.py", "typed_date"),  # the base period's days
    ("console_rules.py", "_utc_day"),  # the days of a simulation
    ("console_rules.py", "_effective_from"),  # when a published set takes effect
    ("console_settlement.py", "_period_end"),  # the end of the period to close
    ("terminal_enrol.py", "_birth_date"),  # a new member's birth date
    ("console_program.py", "explain_document"),  # the program editor's sample purchase, typed by the owner
}
# (module, function): pages that still read a service's answer of strings; to be typed like the POS answers, then
# removed from here (none left)
STILL_READ_STRING_ANSWERS: set[tuple[str, str]] = set()


def _parser_calls(path: Path) -> Iterator[tuple[str, str]]:
    """(the outermost function enclosing a parser call, the parser) for each call of a parser in the module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for top in ast.walk(tree):
        if not isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) or top not in tree.body:
            continue
        for node in ast.walk(top):
            if isinstance(node, ast.Call) and (name := _called(node.func)) in PARSERS:
                yield top.name, name
    for node in tree.body:  # a call at module level (a constant parsed from an answer) is never form input
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and (name := _called(inner.func)) in PARSERS:
                    yield "<module>", name
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        for inner in ast.walk(cls):
            if isinstance(inner, ast.Call) and (name := _called(inner.func)) in PARSERS:
                yield f"{cls.name}", name


def _called(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _callers() -> set[tuple[str, str]]:
    return {
        (path.relative_to(WEB).as_posix(), function)
        for path in sorted(WEB.rglob("*.py"))
        for function, _ in _parser_calls(path)
    }


def test_pages_parse_only_form_input() -> None:
    callers = _callers()
    unexpected = callers - READS_FORM_INPUT - STILL_READ_STRING_ANSWERS
    assert not unexpected, (
        f"these page functions parse amounts, shares or moments: {sorted(unexpected)}; read the typed result instead "
        "(see adapters/http/pos_answers.stored_result), or name the function above if it reads form input"
    )


def test_the_lists_name_only_real_callers() -> None:
    stale = (READS_FORM_INPUT | STILL_READ_STRING_ANSWERS) - _callers()
    assert not stale, f"no longer calls a parser: {sorted(stale)}; remove it from the lists"


def test_the_check_sees_a_parser_called_through_its_module(tmp_path: Path) -> None:
    page = tmp_path / "page.py"
    page.write_text(
        "from coalition.domain import money\n"
        "def receipt(body):\n"
        "    def minor(text):\n"
        "        return money.parse_amount_minor(text, body['currency'])\n"
        "    return minor(body['amount'])\n"
    )
    assert list(_parser_calls(page)) == [("receipt", "parse_amount_minor")]
