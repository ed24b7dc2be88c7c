"""Rule conditions in the Common Expression Language (CEL), compiled once, checked against the documented context.

The engine is `common-expression-language` (Rust; see ../shared/notes/cel.md for why and its measured speed). It
reports syntax errors with a line and column but has no type checker, so a condition is checked at save time by
evaluating it over sample contexts that have every documented field: an unknown name, a misspelt field or an
operation on the wrong types fails there, with the name, instead of at a till.

Before anything is evaluated, a condition's cost is estimated from its text and refused over the budget (budget.py):
the library holds Python's lock while it runs and cannot be stopped, so a condition is never run to find out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cel

from coalition.domain.rules.budget import FREE, BudgetError, Cost, estimate

MAX_EXPRESSION_CHARS = 2000
# A sample evaluation slower than this means the estimate missed something: the condition is refused at once,
# rather than evaluated 600 more times by the conflicts check. The budget keeps one to about a millisecond.
MAX_SAMPLE_EVALUATION_SECONDS = 0.5

_POSITION = re.compile(r"<input>:(?P<line>\d+):(?P<column>\d+):\s*(?P<message>[^\n]*)")


class ExpressionError(ValueError):
    """A condition that does not parse or does not evaluate over the documented context."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"{message}{where}")
        self.message, self.line, self.column = message, line, column


def _sum(values: list[int]) -> int:
    if not all(isinstance(value, int) for value in values):
        raise TypeError("sum() takes a list of integers")
    return sum(values)


def _get(mapping: dict[str, Any], key: str, default: Any) -> Any:
    """`get(basket.spend_by_category, "coffee", 0)`: CEL's `m[k]` fails on a missing key and this library has no
    optional values (`m[?k]`)."""
    if not isinstance(mapping, dict):
        raise TypeError("get() takes a map, a key and a default")
    return mapping.get(key, default)


# Functions conditions may call beyond CEL's standard ones.
FUNCTIONS: Mapping[str, Callable[..., Any]] = {"sum": _sum, "get": _get}


@dataclass(frozen=True)
class Condition:
    """A compiled condition; the empty source is always true."""

    source: str
    program: Any  # cel.Program, or None for the empty condition
    cost: Cost = FREE

    def holds(self, activation: Any) -> bool:
        if self.program is None:
            return True
        result = self.program.execute(activation)
        if not isinstance(result, bool):
            raise ExpressionError(f"the condition gives {type(result).__name__}, not true or false")
        return result


ALWAYS_TRUE = Condition("", None)


def compile_condition(source: str, *, budgeted: bool = True) -> Condition:
    """`budgeted=False` skips the cost estimate: for a set already checked, or published before the budget."""
    if not source.strip():
        return ALWAYS_TRUE
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"a condition has at most {MAX_EXPRESSION_CHARS} characters")
    try:
        program = cel.compile(source)  # as written: error positions are the author's lines and columns
    except ValueError as error:
        raise _parse_error(str(error)) from None
    if not budgeted:
        return Condition(source, program)
    try:
        cost = estimate(source)
    except BudgetError as error:
        raise ExpressionError(str(error)) from None
    return Condition(source, program, cost)


def _parse_error(text: str) -> ExpressionError:
    found = _POSITION.search(text)
    if found is None:
        return ExpressionError(f"the condition does not parse: {text.splitlines()[0][:200]}")
    message = found["message"].replace("Syntax error: ", "")
    return ExpressionError(f"syntax error: {message[:200]}", line=int(found["line"]), column=int(found["column"]))


def activation(values: Mapping[str, Any]) -> Any:
    """One CEL context per purchase: building it costs far more than evaluating a rule, so never build it per rule."""
    context = cel.Context()
    for name, value in values.items():
        context.add_variable(name, value)
    for name, function in FUNCTIONS.items():
        context.add_function(name, function)
    return context


def check_against(condition: Condition, samples: Sequence[Mapping[str, Any]]) -> None:
    """Evaluate over sample contexts with every documented field; raise on the first failure, naming it."""
    for sample in samples:
        context = activation(sample)
        started = time.perf_counter()
        try:
            condition.holds(context)
        except ExpressionError:
            raise
        except KeyError as error:
            raise ExpressionError(f"no field {error.args[0]!r} in the context (see the documented context)") from None
        except RuntimeError as error:
            raise ExpressionError(_first_sentence(str(error))) from None
        except (TypeError, ValueError) as error:
            raise ExpressionError(f"the condition does not type-check: {_first_sentence(str(error))}") from None
        elapsed_seconds = time.perf_counter() - started
        if elapsed_seconds > MAX_SAMPLE_EVALUATION_SECONDS:
            raise ExpressionError(
                f"the condition took {elapsed_seconds * 1000:,.0f} ms on a sample purchase; the limit is"
                f" {MAX_SAMPLE_EVALUATION_SECONDS * 1000:,.0f} ms"
            )


def _first_sentence(text: str) -> str:
    return text.split(". ")[0][:200]
