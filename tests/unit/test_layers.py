"""Imports point one way: domain <- core <- adapters <- http <- bootstrap <- cli.

Every `import` and `from ... import` in the project's packages is read from the source
(module level, inside functions and under TYPE_CHECKING alike) and checked against the
layer table below: a module may import its own layer and the layers beneath it, never
one above. On top of that, the lower layers must not touch the technologies that belong
to the edges: the domain none of HTTP, Kafka, Avro, ClickHouse, SQL drivers or the
segment store; the core none of HTTP, Kafka, Avro or ClickHouse.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Layers from the bottom up; a module belongs to the longest prefix that names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("domain", ("domain",)),
    ("core", ("recaudit", "recaudit.core", "recaudit.access", "recaudit.settings")),
    ("adapters", ("consumers", "projections", "schemas", "recaudit.adapters")),
    ("http", ("recaudit.http",)),
    ("bootstrap", ("recaudit.bootstrap",)),
    ("cli", ("recaudit.cli",)),
]
# Call scripts for the demo, the benchmarks and the tests: they drive the application
# core and speak the domain, and only the command line (besides bench/ and tests/) may
# use them.
WORKLOADS = "recaudit.workloads"
OURS = ("domain", "recaudit", "consumers", "projections", "schemas")

EDGE_TECH = ("fastapi", "starlette", "uvicorn", "httpx", "kafka", "fastavro",
             "clickhouse_connect", "chdb", "jinja2")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "domain": (*EDGE_TECH, "psycopg", "pydantic", "eventsourcing.persistence",
               "eventsourcing.postgres", "eventsourcing.sqlite", "eventsourcing.application",
               "consumers.segments"),
    "core": EDGE_TECH,
    "adapters": ("fastapi", "starlette", "uvicorn", "jinja2"),
}


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.why}"


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if _under(module, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from recaudit import http` names a module, not just a package attribute.
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names
                         if (ROOT / Path(*target.split("."), alias.name)).exists()
                         or (ROOT / Path(*target.split("."), f"{alias.name}.py")).exists())
    return found


def check_module(module: str, imports: list[tuple[int, str]]) -> list[Violation]:
    own = layer_of(module)
    problems: list[Violation] = []
    for line, imported in imports:
        if module == WORKLOADS:
            target = layer_of(imported)
            if target is not None and target > 1:
                problems.append(Violation(module, line, imported,
                                          "the workloads use the domain and the core only"))
            continue
        if _under(imported, WORKLOADS):
            if own is None or LAYERS[own][0] != "cli":
                problems.append(Violation(module, line, imported,
                                          "only the command line runs the workloads"))
            continue
        if own is None:
            continue
        name = LAYERS[own][0]
        for banned in FORBIDDEN.get(name, ()):
            if _under(imported, banned):
                problems.append(Violation(module, line, imported,
                                          f"the {name} layer must not use {banned}"))
        target = layer_of(imported)
        if target is not None and target > own:
            problems.append(Violation(
                module, line, imported,
                f"the {name} layer may not import the {LAYERS[target][0]} layer above it"))
    return problems


def check_tree(root: Path) -> list[Violation]:
    problems: list[Violation] = []
    for top in OURS:
        for path in sorted((root / top).rglob("*.py")):
            module = module_name(path, root)
            problems.extend(check_module(module, imports_of(path, module)))
    return problems


def test_imports_point_one_way() -> None:
    problems = check_tree(ROOT)
    assert not problems, "imports pointing the wrong way:\n" + "\n".join(map(str, problems))


def test_every_package_has_a_layer() -> None:
    packages = {module_name(p, ROOT) for top in OURS for p in (ROOT / top).rglob("*.py")}
    unplaced = sorted(m for m in packages if layer_of(m) is None and m != WORKLOADS)
    assert not unplaced


def test_the_check_catches_each_kind_of_wrong_import() -> None:
    cases = {
        ("domain.call", "fastapi"): "must not use fastapi",
        ("domain.call", "recaudit.core.service"): "above it",
        ("domain.timeline", "consumers.segments.layout"): "must not use consumers.segments",
        ("recaudit.core.service", "projections.reader"): "above it",
        ("recaudit.core.committer", "kafka"): "must not use kafka",
        ("projections.reader", "recaudit.http.api"): "above it",
        ("consumers.segments.desk", "starlette.responses"): "must not use starlette",
        ("recaudit.http.api", "recaudit.bootstrap"): "above it",
        ("recaudit.bootstrap", "recaudit.cli.demo"): "above it",
        ("recaudit.core.service", "recaudit.workloads"): "only the command line",
        ("recaudit.workloads", "projections.reader"): "the domain and the core only",
    }
    for (module, imported), why in cases.items():
        found = check_module(module, [(1, imported)])
        assert found and all(why in str(v) for v in found[:1]), (module, imported, found)
    allowed = [("recaudit.cli", "recaudit.bootstrap"), ("recaudit.http.api", "recaudit.core"),
               ("projections.reader", "recaudit.core.readmodel"), ("domain.call", "enum"),
               ("recaudit.cli.demo", "recaudit.workloads"),
               ("recaudit.workloads", "recaudit.core.service")]
    for module, imported in allowed:
        assert check_module(module, [(1, imported)]) == [], (module, imported)


def test_relative_and_function_level_imports_are_read(tmp_path: Path) -> None:
    package = tmp_path / "domain"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = package / "late.py"
    source.write_text("from . import rules\n\ndef f():\n    import projections.reader\n")
    found = imports_of(source, "domain.late")
    assert (1, "domain") in found and (4, "projections.reader") in found
    assert [v.imported for v in check_module("domain.late", found)] == ["projections.reader"]


def _packages_graph(root: Path) -> dict[str, set[str]]:
    """Which package imports which (a module counts as its package), our packages only."""
    graph: dict[str, set[str]] = {}
    for top in OURS:
        for path in sorted((root / top).rglob("*.py")):
            module = module_name(path, root)
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            for _line, imported in imports_of(path, module):
                if not any(_under(imported, p) for p in OURS):
                    continue
                target = imported
                while target and not (root / Path(*target.split("."))).is_dir():
                    target = target.rpartition(".")[0]
                if target and target != package and not _under(package, target):
                    graph.setdefault(package, set()).add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        path.append(node)
        for after in sorted(graph.get(node, ())):
            cycle = visit(after)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_no_package_imports_itself_round_about() -> None:
    cycle = find_cycle(_packages_graph(ROOT))
    assert cycle is None, "packages import each other in a circle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None
