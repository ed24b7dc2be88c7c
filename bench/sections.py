"""docs/benchmarks.md keeps each benchmark's latest figures between its own markers; a run rewrites only those."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(name: str, heading: str, text: str, docs: Path = DOCS) -> None:
    """Put `text` between `<!-- {name}:latest:start -->` and its end marker, adding both under `heading` if new."""
    start, end = f"<!-- {name}:latest:start -->", f"<!-- {name}:latest:end -->"
    current = docs.read_text()
    if start not in current:
        current += f"\n## {heading}\n\n{start}\n{end}\n"
    head, rest = current.split(start, 1)
    _, tail = rest.split(end, 1)
    docs.write_text(f"{head}{start}\n{text}\n{end}{tail}")
