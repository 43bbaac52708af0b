"""The house rules that a reader relies on: the vocabulary module imports nothing of
ours, and no two of our modules import each other (directly or round a longer circle),
counting the imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "letterparse"


def _graph() -> dict[str, set[str]]:
    """Top-level module (``extract`` for the subpackage) -> the modules of ours it imports."""
    mods = {p.stem for p in PKG.glob("*.py")} | {p.name for p in PKG.iterdir() if (p / "__init__.py").exists()}
    graph: dict[str, set[str]] = {}
    for f in PKG.rglob("*.py"):
        rel = f.relative_to(PKG).parts
        me = rel[0] if len(rel) > 1 else f.stem
        deps = graph.setdefault(me, set())
        for node in ast.walk(ast.parse(f.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                # from .x import y (level 1 in the package, 2 inside the subpackage)
                up = node.level - (len(rel) - 1)
                if up != 1:
                    continue
                names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
                deps.update(n for n in names if n in mods and n != me)
    graph.pop("__init__", None)
    graph.pop("__main__", None)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    return found


def test_vocab_imports_nothing_of_ours():
    assert _graph()["vocab"] == set()


def test_no_import_circles_between_our_modules():
    graph = _graph()
    assert {"themes", "train", "store", "batch"} <= set(graph)  # the walk sees the package
    assert "themes" in graph["train"]  # and sees imports made inside functions
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
