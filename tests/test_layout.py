"""The layout keeps the pipeline visible: imports read with `ast` point down the stages, never in a circle.

The stages, in pipeline order (a module may import its own stage and earlier ones, never a later one):

    foundation (version, errors, text, resources, yamlsafe, schemas, events, config, store, privacy)
      -> ingest -> embed -> rank -> plan -> backends -> copy -> page -> campaigns -> engine -> batch
      -> evaluation -> server -> cli -> genpage (the public API)

Also: no private name (`_x`) imported from another module, no module over 600 lines, no function over 80 lines,
and loading a model backend pulls in neither the copy stage nor jinja2 / yaml.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "genpage"
STAGES: list[tuple[str, ...]] = [
    ("genpage.version", "genpage.errors", "genpage.text", "genpage.resources", "genpage.yamlsafe", "genpage.schemas",
     "genpage.events", "genpage.config", "genpage.store", "genpage.privacy"),
    ("genpage.ingest",),
    ("genpage.embed",),
    ("genpage.rank",),
    ("genpage.plan",),
    ("genpage.backends",),
    ("genpage.copy",),
    ("genpage.page",),
    ("genpage.campaigns",),
    ("genpage.feedback",),
    ("genpage.engine",),
    ("genpage.batch",),
    ("genpage.evaluation",),
    ("genpage.server",),
    ("genpage.cli",),
    ("genpage",),
]
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import in the file, lazy and TYPE_CHECKING ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def edges() -> dict[str, set[str]]:
    """genpage module -> the genpage modules it imports (`from pkg import mod` counts as importing pkg.mod)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, names, _ in imports_of(path):
            if target != "genpage" and not target.startswith("genpage."):
                continue
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            graph[name].update(submodules or ([target] if target in MODULES else []))
    return graph


def stage_of(module: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, stage)
    for index, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), index)
    assert best[1] >= 0, f"{module} is in no stage: add it to STAGES"
    return best[1]


def test_every_module_has_a_stage():
    for name in MODULES:
        stage_of(name)


def test_imports_point_down_the_pipeline():
    wrong = [f"{source} (stage {stage_of(source)}) imports {target} (stage {stage_of(target)})"
             for source, targets in edges().items() for target in targets
             if stage_of(target) > stage_of(source)]  # fmt: skip
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_a_cycle_and_a_backward_import(tmp_path, monkeypatch):
    """The two checks above fail on a tree that breaks them (so a green run means something)."""
    fake = tmp_path / "genpage"
    (fake / "rank").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "rank" / "__init__.py").write_text("")
    (fake / "rank" / "a.py").write_text("from genpage.rank import b\nfrom genpage.copy.generate import x\n")
    (fake / "rank" / "b.py").write_text("def f():\n    from genpage.rank.a import g\n")
    (fake / "copy").mkdir()
    (fake / "copy" / "__init__.py").write_text("")
    (fake / "copy" / "generate.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    monkeypatch.setattr(sys.modules[__name__], "MODULES", {module_name(p): p for p in sorted(fake.rglob("*.py"))})
    with pytest.raises(AssertionError, match=r"genpage.rank.a \(stage 3\) imports genpage.copy.generate"):
        test_imports_point_down_the_pipeline()
    with pytest.raises(AssertionError, match=r"\['genpage.rank.a', 'genpage.rank.b'\]"):
        test_no_import_cycles()


def test_no_private_name_crosses_modules():
    crossing = [f"{name}:{line} takes {n} from {target}"
                for name, path in MODULES.items() for target, names, line in imports_of(path)
                if target.startswith("genpage") for n in names if n.startswith("_") and n != "__version__"]  # fmt: skip
    assert not crossing, "\n".join(crossing)


def test_modules_and_functions_stay_small():
    too_long = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert not too_long, "\n".join(too_long)


def test_loading_a_backend_pulls_in_no_copy_or_templates():
    code = ("import sys, genpage.backends.local, genpage.backends.llamacpp\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jinja2', 'yaml') or "
            "m.startswith('genpage.copy') or m == 'genpage.page'))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_backend_contract_knows_no_implementation():
    contract = {target for target, _, _ in imports_of(MODULES["genpage.backends.base"])}
    assert not {t for t in contract if t.startswith("genpage.backends.") and t != "genpage.backends.base"}
