"""The cost budget of a condition, estimated from its text before it is ever evaluated (docs/rules.md, "Limits").

The CEL library cannot be interrupted: it runs in Rust holding Python's global interpreter lock, so a slow condition
stops every thread of its worker (measured: a 0.1 s evaluation delays a 10 ms timer in another thread by 0.1 s), and
it has no cost limit of its own. So a condition is bounded before it runs: its comprehensions (`all`, `exists`,
`exists_one`, `map`, `filter`) may nest only so deep, be only so many, and loop over lists whose length is known —
list literals by their items, the context's lists by the documented maxima (a basket's lines, a line's tags, a member's
segments, the coupons) — and the product of those lengths, the worst-case number of steps, must fit the budget.

The estimate reads the condition with a small parser of CEL's grammar that computes, for every sub-expression, an
upper bound of its steps and, for a list or map, of its length and of its items' shape. It runs after the library
has parsed the condition, so it only needs to read valid CEL; anything it cannot read is refused as too complex.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from coalition.domain.coupons import MAX_COUPONS_PER_PURCHASE
from coalition.domain.members import MAX_SEGMENTS
from coalition.domain.purchase import MAX_BASKET_LINES

# The documented maxima the worst case is taken over; a line's tags are limited where purchases come in.
MAX_LINE_TAGS = 20
# Saving a draft evaluates every condition over sample purchases of at most these sizes (conflicts.py, context.py).
SAMPLE_LINES, SAMPLE_TAGS, SAMPLE_SEGMENTS, SAMPLE_COUPONS = 3, 2, 3, 2
SAMPLE_EVALUATIONS = 602  # two contexts in the save-time check, 600 generated purchases in the conflicts check

MAX_COMPREHENSION_DEPTH = 3
MAX_COMPREHENSIONS = 10
MAX_LIST_ITEMS = 200
MAX_NESTING = 32  # brackets, parentheses and calls within each other
# Steps as counted here took 0.03-0.5 µs each (measured over loops, copies, map and filter on this 2-core machine).
MAX_STEPS = 200_000  # one condition on the largest basket
MAX_SAMPLE_STEPS = 2_000  # one condition on a sample basket, evaluated 602 times when a draft is saved
MAX_SET_STEPS = 2_000_000  # all the conditions of a rule set on the largest basket: one purchase's worst case
MAX_SET_SAMPLE_STEPS = 50_000  # all the conditions of a rule set on a sample basket: what saving it costs
MAX_SET_CONDITION_CHARS = 200_000  # estimating and compiling take ~7 µs a character

MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# Functions whose result is a number, text, bool, time or type: never a list worth looping over.
_SCALAR_FUNCTIONS = frozenset(
    {
        "size",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "bool",
        "timestamp",
        "duration",
        "contains",
        "startsWith",
        "endsWith",
        "type",
        "sum",
        "has",
    }
)


class BudgetError(ValueError):
    """A condition over its budget, or one too complex to estimate."""


@dataclass(frozen=True)
class Shape:
    """What a value may be, as far as its cost goes: at most `size` items (0: not a list or map), each shaped like
    `item` (None: unknown); a map (`is_map`, whose comprehensions loop over its keys) may know some fields."""

    size: int = 0
    item: Shape | None = None
    fields: Mapping[str, Shape] = field(default_factory=dict)
    is_map: bool = False

    def field_shape(self, name: str) -> Shape:
        known = self.fields.get(name)
        if known is not None:
            return known
        if self.fields:  # a map of the context: its other fields are shaped like `item`
            return self.item if self.item is not None else ANY
        return self.item_shape()

    def item_shape(self) -> Shape:
        """What indexing gives: an item of a list, a value of a map."""
        if self.fields:
            return join(self.item or ANY, *self.fields.values())
        if self.item is not None:
            return self.item
        return ANY if self.size else SCALAR  # a number or a text has no items: reading one fails at once

    def loop_variable(self) -> Shape:
        """What a comprehension's variable holds: an item of a list, a key of a map (a number or a text)."""
        return SCALAR if self.is_map else self.item_shape()


SCALAR = Shape()


def _any() -> Shape:
    # Nothing in the context or the language makes a list longer than the basket's tags without it being counted
    # (literals, `+`, map and filter are), so an unknown list is taken to be that long, with items of any shape.
    return Shape(MAX_BASKET_LINES * MAX_LINE_TAGS)


ANY = _any()


def join(*shapes: Shape) -> Shape:
    """A shape covering each of `shapes` (the branches of `?:`, the items of a list literal)."""
    if not shapes:
        return SCALAR
    size = max(shape.size for shape in shapes)
    unknown_items = any(shape.item is None and shape.size for shape in shapes)
    items = [shape.item for shape in shapes if shape.item is not None]
    item = None if unknown_items or not items else join(*items)
    fields: dict[str, Shape] = {}
    for shape in shapes:
        for name, value in shape.fields.items():
            fields[name] = join(fields[name], value) if name in fields else value
    return Shape(size, item, fields, all(shape.is_map for shape in shapes))


def weight(shape: Shape, depth: int = 0) -> int:
    """How many values a value of this shape holds, all levels counted (converting it to Python costs that)."""
    if depth > MAX_NESTING:
        return shape.size
    inner = weight(shape.item, depth + 1) if shape.item is not None else 0
    return shape.size * (1 + inner) + sum(weight(value, depth + 1) for value in shape.fields.values())


@dataclass(frozen=True)
class Bounds:
    """The lengths of the context's lists that an estimate assumes."""

    lines: int
    tags: int
    segments: int
    coupons: int


LARGEST = Bounds(MAX_BASKET_LINES, MAX_LINE_TAGS, MAX_SEGMENTS, MAX_COUPONS_PER_PURCHASE)
SAMPLE = Bounds(SAMPLE_LINES, SAMPLE_TAGS, SAMPLE_SEGMENTS, SAMPLE_COUPONS)


def context_shapes(bounds: Bounds) -> dict[str, Shape]:
    """The documented context (context.py) as shapes."""
    line = Shape(6, SCALAR, {"tags": Shape(bounds.tags, SCALAR)}, is_map=True)
    tags = bounds.lines * bounds.tags
    basket = Shape(
        10,
        SCALAR,
        {
            "lines": Shape(bounds.lines, line),
            "skus": Shape(bounds.lines, SCALAR),
            "categories": Shape(bounds.lines, SCALAR),
            "tags": Shape(tags, SCALAR),
            "spend_by_sku": Shape(bounds.lines, SCALAR, is_map=True),
            "spend_by_category": Shape(bounds.lines, SCALAR, is_map=True),
            "spend_by_tag": Shape(tags, SCALAR, is_map=True),
        },
        is_map=True,
    )
    member = Shape(11, SCALAR, {"segments": Shape(bounds.segments, SCALAR)}, is_map=True)
    return {
        "basket": basket,
        "member": member,
        "outlet": Shape(1, SCALAR, is_map=True),
        "partner": Shape(1, SCALAR, is_map=True),
        "now": Shape(7, SCALAR, is_map=True),
        "coupons": Shape(bounds.coupons, SCALAR),
        "coupon_campaigns": Shape(bounds.coupons, SCALAR),
    }


@dataclass(frozen=True, slots=True)
class Cost:
    """A condition's estimate: worst-case steps on the largest basket and on a sample basket."""

    steps: int = 0
    sample_steps: int = 0
    comprehensions: int = 0
    depth: int = 0


FREE = Cost()  # the empty condition


def estimate(source: str) -> Cost:
    """The cost of a condition; raises BudgetError when it is over the budget (the message says which limit)."""
    if not source.strip():
        return FREE
    tokens = tokenize(source)
    largest = _Parser(tokens, context_shapes(LARGEST)).condition()
    sample = _Parser(tokens, context_shapes(SAMPLE)).condition()
    cost = Cost(largest.steps, sample.steps, largest.comprehensions, largest.depth)
    if cost.depth > MAX_COMPREHENSION_DEPTH:
        raise BudgetError(
            f"comprehensions (all, exists, exists_one, map, filter) nest at most {MAX_COMPREHENSION_DEPTH} deep"
            f" in a condition; this one nests {cost.depth}"
        )
    if cost.comprehensions > MAX_COMPREHENSIONS:
        raise BudgetError(
            f"a condition has at most {MAX_COMPREHENSIONS} comprehensions (all, exists, exists_one, map, filter);"
            f" this one has {cost.comprehensions}"
        )
    if cost.steps > MAX_STEPS:
        raise BudgetError(
            f"the condition may take up to {cost.steps:,} steps on the largest basket; the budget is {MAX_STEPS:,}"
        )
    if cost.sample_steps > MAX_SAMPLE_STEPS:
        raise BudgetError(
            f"the condition may take up to {cost.sample_steps:,} steps on a small basket; the budget is"
            f" {MAX_SAMPLE_STEPS:,}"
        )
    return cost


def check_set(costs: list[Cost]) -> None:
    """All the conditions of a rule set together: what one purchase costs at most, and what saving costs."""
    steps = sum(cost.steps for cost in costs)
    if steps > MAX_SET_STEPS:
        raise BudgetError(
            f"the conditions of this rule set may take up to {steps:,} steps on the largest basket together;"
            f" the budget is {MAX_SET_STEPS:,}"
        )
    sample_steps = sum(cost.sample_steps for cost in costs)
    if sample_steps > MAX_SET_SAMPLE_STEPS:
        raise BudgetError(
            f"the conditions of this rule set may take up to {sample_steps:,} steps on a small basket together;"
            f" the budget is {MAX_SET_SAMPLE_STEPS:,}"
        )


# --- reading CEL ------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
    | (?P<string>(?:[rR][bB]?|[bB][rR]?)?
        (?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))
    | (?P<number>0[xX][0-9a-fA-F]+[uU]?|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[uU]?)
    | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
    | (?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%?:.,()\[\]{}])
    """,
    re.VERBOSE,
)
_RAW_STRING = re.compile(r"""(?:[rR][bB]?|[bB][rR])(?:"[^"\n]*"|'[^'\n]*'|\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?''')""")


class Token(NamedTuple):
    kind: str  # string, number, name, op, end
    text: str


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        raw = _RAW_STRING.match(source, position)  # a raw string's backslash escapes nothing: r"\" is whole
        if raw is not None:
            tokens.append(Token("string", raw.group()))
            position = raw.end()
            continue
        found = _TOKEN.match(source, position)
        if found is None or found.lastgroup is None:
            raise BudgetError(f"the condition could not be read for its cost at character {position + 1}")
        if found.lastgroup != "space":
            tokens.append(Token(found.lastgroup, found.group()))
        position = found.end()
    tokens.append(Token("end", ""))
    return tokens


@dataclass(frozen=True, slots=True)
class _Value:
    steps: int
    shape: Shape = SCALAR
    comprehensions: int = 0
    depth: int = 0  # comprehensions nested within each other


def _combine(*parts: _Value, steps: int = 1, shape: Shape = SCALAR) -> _Value:
    return _Value(
        steps + sum(part.steps for part in parts),
        shape,
        sum(part.comprehensions for part in parts),
        max((part.depth for part in parts), default=0),
    )


# Binary operators by precedence, loosest first (CEL: || then && then relations then + - then * / %).
_PRECEDENCE = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "in": 3}
_PRECEDENCE |= {"+": 4, "-": 4, "*": 5, "/": 5, "%": 5}


class _Parser:
    """Recursive descent over CEL's grammar; each rule returns the cost of what it read (no tree is kept, so a
    long chain such as `a + b + … + z` is read in a loop, and only brackets nest the recursion)."""

    def __init__(self, tokens: list[Token], context: dict[str, Shape]) -> None:
        self.tokens, self.position = tokens, 0
        self.scopes: list[dict[str, Shape]] = [context]
        self.nesting = 0

    # tokens
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.position + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        if self.take().text != text:
            raise BudgetError("the condition could not be read for its cost")

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind in ("op", "name") and token.text == text

    # grammar
    def condition(self) -> _Value:
        value = self.expression()
        if self.peek().kind != "end":
            raise BudgetError("the condition could not be read for its cost")
        return value

    def expression(self) -> _Value:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise BudgetError(f"a condition nests brackets and calls at most {MAX_NESTING} deep")
        value = self.binary(1)
        branches: list[_Value] = []
        while self.at("?"):  # c1 ? a : c2 ? b : d, read as a loop; only one branch of each runs
            self.take()
            then = self.expression()
            self.expect(":")
            branches.append(then)
            otherwise = self.binary(1)
            if not self.at("?"):
                branches.append(otherwise)
                break
            value = _combine(value, otherwise, steps=1)
        if branches:
            longest = max(branches, key=lambda branch: branch.steps)
            every = _combine(*branches, steps=0)
            value = _Value(
                value.steps + longest.steps + len(branches),
                join(*(branch.shape for branch in branches)),
                value.comprehensions + every.comprehensions,
                max(value.depth, every.depth),
            )
        self.nesting -= 1
        return value

    def binary(self, loosest: int) -> _Value:
        left = self.unary()
        while True:
            token = self.peek()
            precedence = _PRECEDENCE.get(token.text) if token.kind in ("op", "name") else None
            if precedence is None or precedence < loosest:
                return left
            self.take()
            right = self.binary(precedence + 1)
            left = _operation(token.text, left, right)

    def unary(self) -> _Value:
        signs = 0
        while self.at("!") or self.at("-"):
            self.take()
            signs += 1
        value = self.member()
        return _combine(value, steps=signs, shape=value.shape) if signs else value

    def member(self) -> _Value:
        """A value and what follows it: fields, indexes and method calls. A value read from the context or a
        variable is copied when used (measured: `basket.tags.size()` or `basket.spend_by_tag["x"]` inside a loop
        costs the size of the tags every time), so a chain that ends on one, indexes one or hands one to a method
        pays its weight."""
        value, stored = self.primary()
        while True:
            if self.at("."):
                self.take()
                name = self.take()
                if name.kind != "name":
                    raise BudgetError("the condition could not be read for its cost")
                if self.at("("):
                    receiver = _combine(value, steps=weight(value.shape), shape=value.shape) if stored else value
                    value, stored = self.call(name.text, receiver), False
                else:
                    value, stored = _combine(value, shape=value.shape.field_shape(name.text)), True
            elif self.at("["):
                self.take()
                index = self.expression()
                self.expect("]")
                copied = weight(value.shape) if stored else 0  # indexing copies what it indexes (measured)
                value, stored = _combine(value, index, steps=1 + copied, shape=value.shape.item_shape()), True
            else:
                return _combine(value, steps=weight(value.shape), shape=value.shape) if stored else value

    def primary(self) -> tuple[_Value, bool]:
        """A literal, a name, a call, a bracketed expression or a list or map literal; and whether it is a value
        read from the context or a variable (not built here)."""
        token = self.take()
        if token.kind in ("string", "number"):
            return _Value(1), False
        if token.kind == "name":
            if token.text in ("true", "false", "null"):
                return _Value(1), False
            if self.at("("):
                return self.call(token.text, None), False
            return _Value(1, self.lookup(token.text)), True
        if token.text == ".":  # a leading dot names the root scope: .basket
            name = self.take()
            return _Value(1, self.scopes[0].get(name.text, SCALAR)), True
        if token.text == "(":
            value = self.expression()
            self.expect(")")
            return value, False
        if token.text == "[":
            items = self.items("]", pairs=False)
            if len(items) > MAX_LIST_ITEMS:
                raise BudgetError(
                    f"a list in a condition has at most {MAX_LIST_ITEMS} items; this one has {len(items)}"
                )
            shape = Shape(len(items), join(*(item.shape for item in items)))
            return _combine(*items, steps=1 + len(items), shape=shape), False
        if token.text == "{":
            entries = self.items("}", pairs=True)
            if len(entries) > 2 * MAX_LIST_ITEMS:
                raise BudgetError(f"a map in a condition has at most {MAX_LIST_ITEMS} entries")
            values = entries[1::2]
            shape = Shape(len(values), join(*(v.shape for v in values)), is_map=True)
            return _combine(*entries, steps=1 + len(values), shape=shape), False
        raise BudgetError("the condition could not be read for its cost")

    def items(self, closing: str, *, pairs: bool) -> list[_Value]:
        """A list literal's items, or a map literal's keys and values in turn, up to the closing bracket."""
        found: list[_Value] = []
        self.nesting += 1
        while not self.at(closing):
            found.append(self.expression())
            if pairs:
                self.expect(":")
                found.append(self.expression())
            if not self.at(","):
                break
            self.take()
        self.expect(closing)
        self.nesting -= 1
        return found

    def lookup(self, name: str) -> Shape:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return SCALAR  # not in the context: evaluating it fails at once (and the save-time check names it)

    def call(self, name: str, receiver: _Value | None) -> _Value:
        if name == "matches":  # measured: 26 µs to 26 ms a call, by the pattern, recompiled at every call
            raise BudgetError(
                "matches() is not allowed in a condition: its regular expression is compiled at every evaluation,"
                " at a cost that cannot be bounded; use startsWith, endsWith, contains or in"
            )
        self.expect("(")
        if receiver is not None and name in MACROS and self.peek().kind == "name" and self.peek(1).text == ",":
            return self.comprehension(name, receiver)
        arguments = self.items(")", pairs=False)
        every = [receiver, *arguments] if receiver is not None else arguments
        steps = 1 + sum(weight(argument.shape) for argument in every) if name in ("sum", "get") else 1
        if name in _SCALAR_FUNCTIONS or (name.startswith("get") and name != "get"):
            shape = SCALAR
        elif name == "get" and len(every) == 3:
            shape = join(every[0].shape.item_shape(), every[2].shape)
        else:  # dyn(x), an optional's value(), an unknown function: it may give back any of its arguments
            shape = join(*(argument.shape for argument in every))
        return _combine(*every, steps=steps, shape=shape)

    def comprehension(self, macro: str, receiver: _Value) -> _Value:
        variable = self.take().text
        self.expect(",")
        self.scopes.append({variable: receiver.shape.loop_variable()})
        self.nesting += 1
        bodies = [self.expression()]
        while self.at(","):
            self.take()
            bodies.append(self.expression())
        self.nesting -= 1
        self.scopes.pop()
        self.expect(")")
        rounds = receiver.shape.size
        variable_weight = weight(receiver.shape.loop_variable())
        body = _combine(*bodies, steps=2 + variable_weight)  # each round binds a copy of the item, then tests it
        steps = receiver.steps + 1 + rounds * body.steps
        if macro == "map":
            shape = Shape(rounds, bodies[-1].shape)
        elif macro == "filter":
            shape = Shape(rounds, receiver.shape.loop_variable())
        else:
            shape = SCALAR
        if macro in ("map", "filter"):  # the result grows by copying: round i copies the i items before it
            steps += rounds * (rounds - 1) // 2 * (1 + weight(shape.item_shape()))
        return _Value(
            steps,
            shape,
            receiver.comprehensions + body.comprehensions + 1,
            max(receiver.depth, body.depth + 1),
        )


def _operation(operator: str, left: _Value, right: _Value) -> _Value:
    if operator == "in":
        return _combine(left, right, steps=1 + right.shape.size * (1 + weight(left.shape)))
    if operator in ("==", "!="):
        return _combine(left, right, steps=1 + min(weight(left.shape), weight(right.shape)))
    if operator == "+" and (left.shape.size or right.shape.size):  # lists joined: both copied
        size = left.shape.size + right.shape.size
        shape = Shape(size, join(left.shape.item_shape(), right.shape.item_shape()))
        return _combine(left, right, steps=1 + weight(shape), shape=shape)
    return _combine(left, right)
