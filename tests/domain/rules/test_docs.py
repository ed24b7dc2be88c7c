"""Every YAML block of docs/rules.md is a rule set that parses and compiles."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from coalition.domain.rules.engine import compile_rule_set
from coalition.domain.rules.parsing import parse_rule_set

DOC = Path(__file__).resolve().parents[3] / "docs" / "rules.md"


def test_every_yaml_block_of_the_rules_doc_parses():
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 8
    for block in blocks:
        compiled = compile_rule_set(parse_rule_set(yaml.safe_load(block), "RUB"), version=1)
        assert compiled.rules
