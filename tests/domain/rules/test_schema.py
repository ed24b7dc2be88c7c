"""The JSON Schema of a rule-set document (issue 13) and the parser agree, being made from one source (shapes.py).

Every example rule set of the docs and the tests that the parser accepts validates against the schema; a key that
no shape declares is refused by both, the parser naming its path; a field the parser lets be left out or null is
never required or refused by the schema; and the schema itself is a valid draft-7 schema an editor can load.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from coalition.domain.errors import DomainError
from coalition.domain.rules.parsing import _EFFECT_READERS, PathError, parse_rule_set
from coalition.domain.rules.shapes import EFFECT_KINDS, RULE_SET, SHAPES, Shape, rule_set_schema

REPO = Path(__file__).resolve().parents[3]
CURRENCY = "RUB"
VALIDATOR = jsonschema_rs.Draft7Validator(rule_set_schema())

# Every field of every shape, in a rule set the parser accepts (checked below): the mutations start from here.
FULL: dict[str, Any] = {
    "$schema": "./rule-set.schema.json",
    "rules": [
        {
            "code": "every-field",
            "name": "Every field",
            "trigger": "purchase",
            "condition": "basket.total_minor > 0",
            "scope": {"partners": ["Corner Shop"], "outlets": ["Corner Shop till"]},
            "window": {
                "starts_at": "2026-12-01T00:00:00+03:00",
                "ends_at": "2027-01-01T00:00:00+03:00",
                "weekdays": [1, 2, 3],
                "days_of_month": [1, 15],
                "from": "08:00",
                "until": "24:00",
            },
            "priority": 5,
            "stacking": "exclusive",
            "group": "g",
            "effects": [
                {
                    "accrue_percent": {
                        "percent": "2.5",
                        "lines": {
                            "skus": ["latte"],
                            "categories": ["coffee"],
                            "tags": ["new"],
                            "exclude_skus": ["water"],
                            "exclude_categories": ["tobacco"],
                            "exclude_tags": ["sale"],
                        },
                        "multipliers": [{"lines": {"tags": ["new"]}, "factor": "1.5"}],
                        "expiry": {"days": 30},
                    }
                },
                {"accrue_fixed": {"points": 10, "per": "unit", "lines": {}, "expiry": {"kind": "end_of_month"}}},
                {"discount": {"percent": 5, "target": "lines", "lines": {}, "max_amount": "100.00"}},
                {"discount": {"amount": "50.00", "target": "cheapest_line"}},
                {
                    "spend_tier_discount": {
                        "basis": "previous_period",
                        "tiers": [{"from": "1000.00", "percent": "3"}, {"from": "5000.00", "percent": "5"}],
                        "floor": "1",
                        "top": "10",
                        "lines": {},
                    }
                },
                {"set_redemption": {"cap_percent": "15", "min_check": "300.00"}},
                {"grant_gift": {"gift_type": "photo", "outlets": ["Corner Shop till"], "valid_days": 30}},
                {"issue_coupon": {"campaign": "come-back", "valid_days": 14, "uses": 2}},
                {"set_tier": {"tier": "gold"}},
                {"reset_balances": {"points": True, "gifts": False}},
            ],
        }
    ],
}


def _accepted(document: object) -> bool:
    try:
        parse_rule_set(document, CURRENCY)
    except DomainError:
        return False
    return True


def _as_json(document: object) -> Any:
    """As an editor sees a YAML document: its unquoted timestamps are text."""
    return json.loads(json.dumps(document, default=str))


def _objects(node: Any, path: str, shape: Shape) -> Iterator[tuple[str, dict[str, Any], Shape]]:
    """Every object of a document with its path and shape (the document as the parser walks it)."""
    if not isinstance(node, dict):
        return
    yield path, node, shape
    for name, value in node.items():
        field = shape.fields.get(name)
        if field is None or field.shape is None:
            continue
        at = f"{path}.{name}" if path else name
        items = enumerate(value) if field.kind == "objects" and isinstance(value, list) else [(None, value)]
        for index, item in items:
            yield from _objects(item, at if index is None else f"{at}[{index}]", SHAPES[field.shape])


# --- the examples of the docs and the tests -----------------------------------------------------------------------


def _documents_in_docs() -> Iterator[tuple[str, object]]:
    for path in sorted([*REPO.glob("docs/**/*.md"), REPO / "README.md"]):
        for number, block in enumerate(re.findall(r"```(?:yaml|json)\n(.*?)```", path.read_text(), flags=re.S)):
            try:
                document = yaml.safe_load(block)
            except yaml.YAMLError:
                continue
            if isinstance(document, dict) and isinstance(document.get("rules"), list):
                yield f"{path.relative_to(REPO)} block {number}", document


def _documents_in_tests() -> Iterator[tuple[str, object]]:
    """Rule sets written out in the tests: YAML texts and dict literals with a list of `rules`."""
    for path in sorted((REPO / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            document: object = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "rules" in node.value:
                try:
                    document = yaml.safe_load(node.value)
                except yaml.YAMLError:
                    continue
            elif isinstance(node, ast.Dict) and any(
                isinstance(key, ast.Constant) and key.value == "rules" for key in node.keys
            ):
                try:
                    document = ast.literal_eval(node)
                except ValueError:
                    continue
            if isinstance(document, dict) and isinstance(document.get("rules"), list):
                yield f"{path.relative_to(REPO)}:{node.lineno}", document


def test_every_example_rule_set_the_parser_accepts_validates_against_the_schema() -> None:
    examples = [*_documents_in_docs(), *_documents_in_tests()]
    accepted = [(where, document) for where, document in examples if _accepted(document)]
    assert len([where for where, _ in accepted if where.startswith("docs")]) >= 8
    assert len(accepted) >= 60, len(accepted)
    refused = {
        where: [f"{error.instance_path}: {error.message}" for error in VALIDATOR.iter_errors(_as_json(document))]
        for where, document in accepted
        if not VALIDATOR.is_valid(_as_json(document))
    }
    assert refused == {}


def test_an_example_the_parser_refuses_for_an_unknown_key_the_schema_refuses_too() -> None:
    for where, document in [*_documents_in_docs(), *_documents_in_tests()]:
        try:
            parse_rule_set(document, CURRENCY)
        except PathError as error:
            if error.detail.startswith("an unknown field"):
                assert not VALIDATOR.is_valid(_as_json(document)), where


# --- the parser and the schema agree -----------------------------------------------------------------------------


def test_the_schema_is_a_draft_7_schema_and_the_full_example_holds_every_field() -> None:
    assert jsonschema_rs.meta.is_valid(rule_set_schema())
    assert _accepted(FULL)
    assert VALIDATOR.is_valid(FULL)
    seen = {(shape.name, name) for _, node, shape in _objects(FULL, "", RULE_SET) for name in node}
    declared = {(shape.name, name) for shape in SHAPES.values() for name in shape.fields}
    assert declared - seen == set()  # a new field joins FULL, so that the tests below try it


def test_the_effects_the_parser_reads_are_the_effects_the_schema_declares() -> None:
    assert list(_EFFECT_READERS) == list(EFFECT_KINDS) == list(SHAPES["effect"].fields)


@pytest.mark.parametrize("typo", ["priorty", "expiri", "Code", "1"])
def test_an_unknown_key_anywhere_is_refused_by_both_naming_its_path(typo: str) -> None:
    paths = [path for path, _, _ in _objects(FULL, "", RULE_SET)]
    assert len(paths) > 30
    for path in paths:
        document = copy.deepcopy(FULL)
        node = next(node for at, node, _ in _objects(document, "", RULE_SET) if at == path)
        node[typo] = "x"
        with pytest.raises(PathError) as refused:
            parse_rule_set(document, CURRENCY)
        assert refused.value.field == f"{path}.{typo}" if path else typo
        assert not VALIDATOR.is_valid(document), path


def test_the_schema_never_refuses_a_field_left_out_or_null_that_the_parser_accepts() -> None:
    """And a field the schema requires is one the parser refuses to do without."""
    tried = 0
    for path, _, shape in list(_objects(FULL, "", RULE_SET)):
        for name, field in shape.fields.items():
            for change in ("left out", "null"):
                document = copy.deepcopy(FULL)
                node = next(node for at, node, _ in _objects(document, "", RULE_SET) if at == path)
                if name not in node:
                    continue
                if change == "left out":
                    del node[name]
                else:
                    node[name] = None
                tried += 1
                by_parser, by_schema = _accepted(document), VALIDATOR.is_valid(document)
                assert by_schema or not by_parser, f"{path}.{name} {change}: the schema refuses what the parser takes"
                if change == "left out" and field.required:
                    assert not by_parser and not by_schema, f"{path}.{name} is required by one of them only"
    assert tried > 100
