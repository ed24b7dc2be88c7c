"""A condition's cost budget (issue 12, hole 1): estimated from its text, refused over it before it ever runs."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import cel
import pytest
from bench.rules import rule_data
from hypothesis import given, settings
from hypothesis import strategies as st

from coalition.adapters.http.schemas import Item
from coalition.domain.errors import InvalidInput
from coalition.domain.rules import budget, conflicts, expressions
from coalition.domain.rules.budget import BudgetError, estimate
from coalition.domain.rules.conflicts import Network, find_conflicts
from coalition.domain.rules.context import ROOTS, LineFacts, MemberFacts, PurchaseFacts, sample_contexts, to_context
from coalition.domain.rules.engine import compile_rule_set
from coalition.domain.rules.expressions import ExpressionError, activation, check_against, compile_condition
from coalition.domain.rules.parsing import parse_rule_set
from tests.domain.rules.support import CURRENCY

DIGITS = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"


def nested(levels: int, items: str = DIGITS) -> str:
    """`[0..9].all(a, [0..9].all(b, …))`, the condition that froze a worker for minutes at five levels."""
    body = "true"
    for level in range(levels):
        body = f"{items}.all(v{level}, v{level} >= 0 && {body})"
    return body


def _rule(code: str, condition: str) -> dict[str, object]:
    return {"code": code, "condition": condition, "effects": [{"discount": {"percent": "5"}}]}


def _refused(*conditions: str) -> InvalidInput:
    data = {"rules": [_rule(f"r{index}", condition) for index, condition in enumerate(conditions)]}
    with pytest.raises(InvalidInput) as caught:
        parse_rule_set(data, CURRENCY)
    return caught.value


def test_the_freezing_condition_is_refused_naming_the_rule_before_anything_is_evaluated(monkeypatch):
    evaluated = []

    def counted(values):
        evaluated.append(values)
        return activation(values)

    monkeypatch.setattr(expressions, "activation", counted)
    started = time.perf_counter()
    error = _refused("basket.total_minor > 0", "member.is_birthday", "true", nested(5))
    assert time.perf_counter() - started < 1
    assert error.field == "rules[3].condition"
    assert error.detail.startswith("comprehensions (all, exists, exists_one, map, filter) nest at most 3 deep")
    assert len(nested(5)) < 300
    assert len(evaluated) == 6  # the three rules before it were checked over the two samples; it was not


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (nested(4), "nest at most 3 deep in a condition; this one nests 4"),
        (" || ".join(f"coupons.exists(c, c == 'X{n}')" for n in range(11)), "at most 10 comprehensions"),
        ("[" + ", ".join(map(str, range(201))) + "].size() > 0", "a list in a condition has at most 200 items"),
        ("basket.lines.exists(a, basket.lines.exists(b, a.sku == b.sku))", "steps on the largest basket; the budget"),
        ("basket.tags.map(t, t).size() > 0", "steps on the largest basket"),  # map copies its result: quadratic
        ("basket.lines.all(l, basket.spend_by_tag[l.sku] > 0)", "steps on the largest basket"),  # a copy per index
        (nested(3, "[" + ", ".join(map(str, range(13))) + "]"), "steps on a small basket; the budget is 2,000"),
        ("(" * 40 + "true" + ")" * 40, "nests brackets and calls at most 32 deep"),
        ('basket.skus.exists(s, s.matches("^COF"))', "matches() is not allowed in a condition"),
    ],
)
def test_each_limit_is_refused_with_its_own_message(condition, message):
    error = _refused(condition)
    assert error.field == "rules[0].condition"
    assert message in error.detail


def test_a_rule_set_has_a_budget_for_all_its_conditions_together():
    looping = 'basket.lines.exists(l, l.category == "c{n}" && l.total_minor > 100)'
    error = _refused(*(looping.format(n=n) for n in range(70)))
    assert error.field == "rules"
    assert error.detail.startswith("the conditions of this rule set may take up to")
    assert "on the largest basket together" in error.detail
    literal = "[" + ", ".join(map(str, range(14))) + "]"
    error = _refused(*(f"{literal}.exists(a, {literal}.exists(b, a + b == {n}))" for n in range(30)))
    assert error.field == "rules" and "on a small basket together" in error.detail
    error = _refused(*(f"basket.total_minor > {n} " + "&& true " * 240 for n in range(110)))
    assert error.field == "rules" and "at most 200,000 characters together" in error.detail


def test_conditions_people_write_fit_the_budget():
    for condition in (
        "basket.total_minor >= 150000",
        '"social" in member.segments || member.card_type == "social"',
        'get(basket.spend_by_category, "coffee", 0) > 30000',
        'basket.lines.exists(l, l.category == "coffee" && l.total_minor > 1000)',
        'basket.lines.exists(l, l.tags.exists(t, t == "sale"))',
        "sum(basket.lines.map(l, l.total_minor)) > 100000",
        'coupons.exists(c, c.startsWith("SPRING"))',
        'now.weekday <= 5 && now.hour in [8, 9, 10] && !("staff" in member.segments)',
        'basket.skus.exists(s, s in ["A-1", "A-2", "A-3"]) ? member.visit_count > 2 : basket.line_count > 3',
    ):
        assert estimate(condition).steps <= budget.MAX_STEPS, condition
    # the benchmark's 200 rules, a tenth of them looping over the lines (bench/rules.py)
    generator = random.Random(7)
    data = {"rules": [rule_data(index, generator, loops=True) for index in range(200)]}
    assert len(parse_rule_set(data, CURRENCY).rules) == 200


def _largest_basket() -> object:
    moment = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    lines = tuple(
        LineFacts(f"SKU-{n}", 1000 + n, 1000, 1000 + n, f"cat-{n % 7}", frozenset(f"t{k}-{n}" for k in range(20)))
        for n in range(budget.MAX_BASKET_LINES)
    )
    member = MemberFacts(segments=frozenset(f"s{n}" for n in range(20)))
    coupons = frozenset(f"C{n}" for n in range(20))
    return activation(to_context(PurchaseFacts(lines, "o", "p", member, moment, moment, coupons, coupons)))


# Conditions near the budget, of every costly kind measured: loops, copies of the context, map and filter.
NEAR_THE_BUDGET = [
    'basket.lines.exists(l, l.tags.exists(t, t == "x"))',
    "basket.lines.map(l, l.sku).size() > 0",
    "basket.skus.map(s, s + s + s + s).size() > 0",
    '(basket.tags + basket.tags).exists(t, t == "x")',
    "[basket.tags, basket.tags, basket.tags].all(x, x.size() > 0)",
    '(true ? basket.tags : basket.skus).exists(t, t == "x")',
    "basket.lines.all(a, [a, a, a, a].size() > 0)",
    'basket.lines.all(a, {"x": a}.size() > 0)',
    'dyn(basket.lines).exists(l, l.sku == "x")',
    "sum(basket.lines.map(l, l.total_minor)) > 5",
]


def test_what_the_budget_accepts_runs_in_tens_of_milliseconds_on_the_largest_basket():
    context = _largest_basket()
    for condition in NEAR_THE_BUDGET:
        assert estimate(condition).steps > 10_000, condition
        program = cel.compile(condition)
        started = time.perf_counter()
        program.execute(context)
        # measured 1-35 ms on the shared 2-core machine; the budget's point is "never seconds"
        assert time.perf_counter() - started < 0.25, condition


def test_the_context_the_estimate_assumes_is_the_documented_one():
    assert set(budget.context_shapes(budget.LARGEST)) == set(ROOTS)
    tags = next(m for m in Item.model_fields["tags"].metadata if hasattr(m, "max_length"))
    assert tags.max_length == budget.MAX_LINE_TAGS  # a till sends at most this many tags a line


def test_a_slow_sample_evaluation_refuses_the_condition_after_one_evaluation(monkeypatch):
    """The dynamic guard behind the estimate: the library cannot be stopped, but the 600 conflict samples are
    never reached. Shown with the limit at zero, as nothing within the budget is slow."""
    monkeypatch.setattr(expressions, "MAX_SAMPLE_EVALUATION_SECONDS", 0.0)
    with pytest.raises(ExpressionError, match=r"the condition took \d+ ms on a sample purchase; the limit is 0 ms"):
        check_against(compile_condition("basket.total_minor > 0"), [to_context(_purchase())])


def test_sampling_for_conflicts_stops_at_its_deadline():
    compiled = compile_rule_set(parse_rule_set({"rules": [_rule("a", "basket.total_minor > 0")]}, CURRENCY), 1)
    network = Network(frozenset(), frozenset())
    with pytest.raises(InvalidInput, match="took longer than 0 s: simplify its conditions") as caught:
        find_conflicts(compiled, network, datetime(2026, 1, 1, tzinfo=UTC), max_seconds=0)
    assert caught.value.field == "rules"
    assert conflicts.MAX_SAMPLING_SECONDS == 30


def _purchase() -> PurchaseFacts:
    moment = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    return PurchaseFacts((LineFacts("A", 100),), "o", "p", MemberFacts(), moment, moment)


# --- the estimate reads every condition the library accepts --------------------------------------------------

_NAMES = st.sampled_from(
    ["basket.total_minor", "member.visit_count", "now.hour", "basket.line_count", "x", "member.segments"]
)
_LITERALS = st.sampled_from(
    ['"a"', "'b'", '"""c"d"""', "r'\\d'", 'b"x"', "1", "0x1F", "2u", "1.5", ".5", "1e3", "true", "null", '"\\""']
)


def _expressions(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return st.one_of(_NAMES, _LITERALS)
    inner = _expressions(depth - 1)
    return st.one_of(
        inner,
        st.tuples(inner, st.sampled_from(["+", "-", "*", "==", "!=", "<", ">=", "&&", "||", "in"]), inner).map(
            " ".join
        ),
        inner.map(lambda e: f"!({e})"),
        inner.map(lambda e: f"-{e}"),
        st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} ? {t[1]} : {t[2]}"),
        st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.tuples(inner, inner).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
        inner.map(lambda e: f"size({e})"),
        inner.map(lambda e: f"({e}).size()"),
        inner.map(lambda e: f"[{e}][0]"),
        inner.map(lambda e: f'get({{"k": {e}}}, "k", 0)'),
        st.tuples(st.sampled_from(["all", "exists", "exists_one", "map", "filter"]), inner).map(
            lambda t: f"coupons.{t[0]}(c, {t[1]})"
        ),
        inner.map(lambda e: f"basket.lines.map(l, l.tags, {e})"),
        inner.map(lambda e: f"has(member.tier) // a comment\n && {e}"),
    )


@settings(max_examples=300, deadline=None)
@given(_expressions(3))
def test_the_estimate_reads_whatever_cel_parses(source):
    try:
        cel.compile(source)
    except ValueError:
        return  # not CEL: the library refuses it first, with its line and column
    try:
        estimate(source)
    except BudgetError as error:
        assert "could not be read" not in str(error), source


def test_the_save_time_samples_are_no_larger_than_the_small_basket_the_estimate_assumes():
    rules = parse_rule_set(
        {"rules": [_rule("a", '"x" in basket.tags && "y" in member.segments && "Z" in coupons && "w" in basket.skus')]},
        CURRENCY,
    ).rules
    generated = conflicts.sample_purchases(
        list(rules), Network(frozenset(), frozenset()), datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert len(generated) + 2 == budget.SAMPLE_EVALUATIONS
    for facts in generated:
        assert len(facts.lines) <= budget.SAMPLE_LINES
        assert all(len(line.tags) <= budget.SAMPLE_TAGS for line in facts.lines)
        assert len(facts.member.segments) <= budget.SAMPLE_SEGMENTS
        assert max(len(facts.coupons), len(facts.coupon_campaigns)) <= budget.SAMPLE_COUPONS
    for sample in sample_contexts():
        assert len(sample["basket"]["lines"]) <= budget.SAMPLE_LINES
        assert len(sample["member"]["segments"]) <= budget.SAMPLE_SEGMENTS
