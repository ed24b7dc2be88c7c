"""Rule-set documents (the API's JSON, the YAML of the CLI and the console) read with limits on size and nesting.

Python's json module and PyYAML's composer recurse once per level of nesting, so a deeply nested document used to
end in a RecursionError, answered as a 500. Here the text's length is checked first; JSON is read by the C scanner,
whose own recursion guard is answered as "nested too deeply"; YAML is composed into nodes (libyaml stops at 1000
levels, the pure-Python composer is stopped by a depth counter) and the nodes are measured without recursion —
their depth, and how many values they stand for once aliases are expanded, so that a few anchors cannot stand for
millions of values — before any Python value is built.

Syntax errors are left to the callers, which word them for their readers (a line and column in the console).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from coalition.domain.errors import InvalidInput

MAX_DOCUMENT_CHARS = 1_000_000
MAX_DOCUMENT_DEPTH = 32  # a rule set needs about 10 (rules[0].effects[0].accrue_percent.multipliers[0].lines.skus)
MAX_DOCUMENT_VALUES = 200_000  # a rule set of 1000 rules holds about 40,000


# half of a UTF-16 pair, which JSON and YAML escapes (\ud800) can write: such text has no UTF-8 form to store
_SURROGATE = re.compile("[\ud800-\udfff]")


class DocumentError(InvalidInput):
    """A document over a limit: too long, too deeply nested, or standing for too many values."""


def check_length(text: str | bytes, field: str) -> None:
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentError(f"a rule set document is at most {MAX_DOCUMENT_CHARS:,} characters", field=field)


def _too_deep(field: str) -> DocumentError:
    return DocumentError(f"a rule set document nests at most {MAX_DOCUMENT_DEPTH} levels deep", field=field)


def _not_unicode(field: str) -> DocumentError:
    return DocumentError(
        "a rule set document holds text that is not Unicode (a lone surrogate such as \\ud800)", field=field
    )


def _too_many(field: str) -> DocumentError:
    return DocumentError(f"a rule set document holds at most {MAX_DOCUMENT_VALUES:,} values", field=field)


def load_json(text: str | bytes, field: str = "body") -> Any:
    """JSON text as plain values; ValueError (json's) for a syntax error, DocumentError over a limit."""
    check_length(text, field)
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(field) from None
    _check_values(value, field)
    return value


def _check_values(value: object, field: str) -> None:
    """Depth and count of parsed JSON values, walked with a stack of their own."""
    pending: list[tuple[object, int]] = [(value, 1)]
    count = 0
    while pending:
        current, depth = pending.pop()
        count += 1
        if depth > MAX_DOCUMENT_DEPTH:
            raise _too_deep(field)
        if count > MAX_DOCUMENT_VALUES:
            raise _too_many(field)
        if isinstance(current, str) and _SURROGATE.search(current):
            raise _not_unicode(field)
        if isinstance(current, dict):
            if any(isinstance(key, str) and _SURROGATE.search(key) for key in current):
                raise _not_unicode(field)
            pending.extend((item, depth + 1) for item in current.values())
        elif isinstance(current, list):
            pending.extend((item, depth + 1) for item in current)


class _TooDeep(Exception):
    pass


class _DepthLimitedLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types here
    """The pure-Python loader, its composer stopped before Python's recursion limit."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DOCUMENT_DEPTH:
                raise _TooDeep
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _loader(text: str) -> Any:
    # libyaml (about 5× faster) limits nesting itself since 0.2.5; without it, the counting composer
    if getattr(yaml, "__with_libyaml__", False):
        from yaml import _yaml

        if _yaml.get_version() >= (0, 2, 5):
            return yaml.CSafeLoader(text)
    return _DepthLimitedLoader(text)


def load_yaml(text: str, field: str = "body") -> Any:
    """YAML (or JSON) text as plain values, as yaml.safe_load reads it; yaml.YAMLError for a syntax error,
    DocumentError over a limit."""
    check_length(text, field)
    loader = _loader(text)
    try:
        try:
            node = loader.get_single_node()
        except _TooDeep:
            raise _too_deep(field) from None
        except yaml.YAMLError as error:
            if "maximum nesting depth" in str(error):  # libyaml's own limit
                raise _too_deep(field) from None
            raise
        if node is None:
            return None
        _check_nodes(node, field)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_nodes(root: Any, field: str) -> None:
    """Depth and expanded size of a composed YAML document: a node reached through several aliases counts each
    time, computed once per node (post-order, with a stack), and a node that contains itself is refused."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth) of the tree it stands for
    on_path: set[int] = set()
    pending: list[tuple[Any, bool]] = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) and _SURROGATE.search(node.value):
            raise _not_unicode(field)
        children = _children(node)
        if children_done:
            on_path.discard(key)
            values = 1 + sum(sizes[id(child)][0] for child in children)
            depth = 1 + max((sizes[id(child)][1] for child in children), default=0)
            if depth > MAX_DOCUMENT_DEPTH:
                raise _too_deep(field)
            if values > MAX_DOCUMENT_VALUES:
                raise _too_many(field)
            sizes[key] = (values, depth)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise DocumentError(
                "a rule set document cannot contain itself (a YAML alias to its own anchor)", field=field
            )
        on_path.add(key)
        pending.append((node, True))
        pending.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
