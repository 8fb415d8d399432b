"""The import rules of shared/DESIGN.md, read off the source with `ast` (every import statement,
also those inside functions): no circles, the runtime and geometry free of training code and
TensorFlow, models free of data code."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "blazeforge"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path, top_only: bool = False) -> set[str]:
    """The modules a file imports: blazeforge modules resolved to the module (or package) named,
    other packages by their top-level name. top_only: only the statements that run on import."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names
            ]
        else:
            continue
        for name in names:
            if name.split(".")[0] != "blazeforge":
                out.add(name.split(".")[0])
                continue
            while name not in MODULES:
                name = name.rpartition(".")[0]
            out.add(name)
    return out


GRAPH = {name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    assert _cycles(GRAPH) == []


def test_the_checker_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _loaded_on_import(name: str) -> set[str]:
    """Every module (blazeforge's and the top-level names of others) importing `name` loads."""
    seen, todo, external = set(), [name], set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        parents = [".".join(parts[:i]) for i in range(2, len(parts))]  # packages run their __init__ first
        for found in _imports(MODULES[module], top_only=True) | set(parents):
            (todo.append(found) if found in MODULES else external.add(found))
    return seen | external


FORBIDDEN = {"tensorflow", "keras", "blazeforge.training", "blazeforge.recipes", "blazeforge.evaluation"}


def _hits(names: set[str], forbidden: set[str]) -> set[str]:
    return {n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden)}


@pytest.mark.parametrize("package", ["blazeforge.runtime", "blazeforge.geometry"])
def test_runtime_and_geometry_never_import_training_code_or_tensorflow(package):
    for name, path in MODULES.items():
        if name == package or name.startswith(package + "."):
            assert not _hits(_imports(path), FORBIDDEN), name  # anywhere in the file
            assert not _hits(_loaded_on_import(name), FORBIDDEN), name  # nor anything it loads


def test_models_import_no_data_code():
    data = {"blazeforge.datasets", "blazeforge.training", "blazeforge.recipes", "blazeforge.synthetic"}
    data |= {"tensorflow_datasets", "albumentations", "blazeforge.evaluation"}
    for name, path in MODULES.items():
        if name.startswith("blazeforge.models"):
            assert not _hits(_imports(path), data), name


def test_the_command_line_loads_no_tensorflow_to_parse():
    loaded = _loaded_on_import("blazeforge.cli") | _loaded_on_import("blazeforge.engine")
    assert not _hits(loaded, {"tensorflow", "keras", "bpy"})
