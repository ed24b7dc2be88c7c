"""The shape of src/coalition, checked from the source text (issue 13): no import circle among its modules, a pure
domain, and no module over 600 lines.

Which imports count. Every `import` and `from … import` anywhere in a module: at its top, inside a function (a late
import only hides a circle from the interpreter; the two modules still need each other, as the CLI's main and its
sub-commands did) and under `if TYPE_CHECKING:` (the types a module names are part of what it depends on: a circle
through them still means neither module can be read, moved or split without the other). An import of a package's
submodule (`from coalition.adapters.cli import keys`) counts as an import of the submodule; importing a name from a
package counts as importing the package's `__init__`. Imports of modules outside src/coalition are left out of the
graph (they cannot close a circle through ours).

Today's offenders are listed below while other slices of issue 13 split the big files and cut the batch ↔ pos
circle; the lists must shrink to empty, and the test fails as well when a listed offender is no longer one, so that
a list cannot outlive its reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import coalition

ROOT = Path(coalition.__file__).parent
PACKAGE = "coalition"
MAX_LINES = 600

# Offenders allowed for now (none since issue 13); an entry that stops offending fails the test, so none goes stale.
KNOWN_CYCLES: set[frozenset[str]] = set()
KNOWN_OVER_600_LINES: set[str] = set()
DOMAIN_MUST_NOT_IMPORT = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "psycopg",
    "asyncpg",
    "coalition.adapters",
    "coalition.application",
)


def _name(path: Path) -> str:
    """src/coalition/adapters/cli/main.py → coalition.adapters.cli.main; …/cli/__init__.py → coalition.adapters.cli"""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _short(module: str) -> str:
    """coalition.application.pos → application/pos.py, as the lists above name modules."""
    return _modules()[module].relative_to(ROOT).as_posix()


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every module name an import statement anywhere in the file names, absolute (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            yield source
            yield from (f"{source}.{alias.name}" for alias in node.names)  # a submodule, where it is one


@cache
def import_graph() -> dict[str, set[str]]:
    """Our modules → the modules of ours each imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {name for name in _imported(module, path) if name in modules and name != module}
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The import circles: the strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            step = next(targets, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_graph_sees_imports_inside_functions_and_under_type_checking() -> None:
    """The walk reads every import statement, not only the module's top (a check of the checker)."""
    graph = import_graph()
    # rules_routes imports the rules context inside its route function
    assert "coalition.domain.rules.context" in graph["coalition.adapters.http.rules_routes"]
    # main imports the command modules, and each of them `common`
    assert "coalition.adapters.cli.rules" in graph["coalition.adapters.cli.main"]
    assert "coalition.adapters.cli.common" in graph["coalition.adapters.cli.rules"]
    cycle = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(cycle) == [frozenset({"a", "b", "c"})]


def test_no_import_circle_among_our_modules() -> None:
    found = {frozenset(_short(module) for module in component) for component in cycles(import_graph())}
    new = [sorted(component) for component in found - KNOWN_CYCLES]
    assert not new, f"import circles (each set of modules imports itself through the others): {new}"
    gone = [sorted(component) for component in KNOWN_CYCLES - found]
    assert not gone, f"no longer circles: remove them from KNOWN_CYCLES: {gone}"


def test_the_domain_imports_no_framework_driver_or_outer_layer() -> None:
    offences = []
    for module, path in _modules().items():
        if not module.startswith(f"{PACKAGE}.domain"):
            continue
        for name in set(_imported(module, path)):
            if any(name == banned or name.startswith(f"{banned}.") for banned in DOMAIN_MUST_NOT_IMPORT):
                offences.append(f"{_short(module)} imports {name}")
    assert not sorted(offences), sorted(offences)


def test_no_module_over_600_lines() -> None:
    lengths = {_short(module): len(path.read_text().splitlines()) for module, path in _modules().items()}
    over = {module for module, count in lengths.items() if count > MAX_LINES}
    new = {module: lengths[module] for module in sorted(over - KNOWN_OVER_600_LINES)}
    assert not new, f"modules over {MAX_LINES} lines: {new}"
    gone = {module: lengths.get(module) for module in sorted(KNOWN_OVER_600_LINES - over)}
    assert not gone, f"no longer over {MAX_LINES} lines (or gone): remove them from KNOWN_OVER_600_LINES: {gone}"


CLIENT_ROOT = ROOT.parent / "coalition_client"
# Modules of the server allowed to use the client: the device simulator's HTTP transport, which proves the client
# on every simulated machine.
SERVER_MODULES_USING_THE_CLIENT = {"coalition.adapters.mqtt.device_client"}


def _top_imports(path: Path) -> set[str]:
    """Every absolute module an import anywhere in the file names (relative imports stay inside their package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
    return names


def test_the_client_package_imports_nothing_of_the_server_and_the_server_nothing_of_the_client() -> None:
    """An integrator installs coalition_client and httpx only: an import of coalition there would fail on a till."""
    offences = []
    for path in sorted(CLIENT_ROOT.rglob("*.py")):
        for name in _top_imports(path):
            if name == PACKAGE or name.startswith(f"{PACKAGE}."):
                offences.append(f"coalition_client/{path.relative_to(CLIENT_ROOT).as_posix()} imports {name}")
    for module, path in _modules().items():
        if module in SERVER_MODULES_USING_THE_CLIENT:
            continue
        for name in _top_imports(path):
            if name == "coalition_client" or name.startswith("coalition_client."):
                offences.append(f"{_short(module)} imports {name}")
    assert not offences, offences


def test_the_client_package_keeps_modules_under_600_lines() -> None:
    lengths = {path.name: len(path.read_text().splitlines()) for path in CLIENT_ROOT.rglob("*.py")}
    assert not {name: count for name, count in lengths.items() if count > MAX_LINES}
