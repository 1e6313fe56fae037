"""The modules form layers: no import circle, and no lower layer reaching up.

Every import counts, also those inside functions or under ``TYPE_CHECKING``: a circle hidden behind a
late import is still a circle.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import headwater

PACKAGE = Path(headwater.__file__).parent
ADAPTERS = ("headwater.api", "headwater.console", "headwater.cli")


def _module_names() -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The headwater modules ``module`` imports (a package's ``__init__`` stands for the package)."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from headwater.store import records`` imports the module records, not the package.
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source)
    return {name for name in found if name in known and name != module}


def _import_graph() -> dict[str, set[str]]:
    known = _module_names()
    return {module: _imported(module, path, known) for module, path in known.items()}


def _within(module: str, *packages: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def test_no_module_imports_itself_through_others() -> None:
    try:
        tuple(TopologicalSorter(_import_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import circle: {' -> '.join(exc.args[1])}") from None


def test_the_store_imports_nothing_above_it() -> None:
    above = (
        "headwater.ingest.jobs",
        "headwater.webhooks",
        "headwater.ingest.processors",
        "headwater.ingest.connectors",
        *ADAPTERS,
    )
    reaching_up = {
        module: sorted(target for target in targets if _within(target, *above))
        for module, targets in _import_graph().items()
        if _within(module, "headwater.store")
    }
    assert {module: targets for module, targets in reaching_up.items() if targets} == {}


def test_the_core_never_imports_an_adapter() -> None:
    reaching_up = {
        module: sorted(target for target in targets if _within(target, *ADAPTERS))
        for module, targets in _import_graph().items()
        if not _within(module, *ADAPTERS)
    }
    assert {module: targets for module, targets in reaching_up.items() if targets} == {}


def test_the_graph_sees_late_imports() -> None:
    # The circle this test guards against was once hidden in a function body.
    graph = _import_graph()
    assert "headwater.ingest.jobs.distributed" in graph["headwater.ingest.jobs.select"]
