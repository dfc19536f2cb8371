"""The package's shape: no import cycle, serving code free of training code and
Paddle, no sys.path edits, and a library that takes configs, not argparse namespaces."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PKG = ROOT / "hiercls"
# Packages a Triton host or a client imports: no training stack behind them.
SERVING = ("hiercls.runtime", "hiercls.serving", "hiercls.client", "hiercls.repository")
TRAINING_SIDE = ("hiercls.training", "hiercls.modeling", "hiercls.compression", "hiercls.analysis", "hiercls.export")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported (not those inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PKG.rglob("*.py")}
    return {m: {i for i in top_level_imports(p) if i in modules and i != m} for m, p in modules.items()}


def test_no_import_cycle_in_the_package():
    g = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(g[m]):
            if state.get(n) == 1 and not n.startswith(m + ".") and not m.startswith(n + "."):
                # A package importing its own submodule (or the reverse) is how __init__ works.
                cycles.append([*stack[stack.index(n) :], n] if n in stack else [m, n])
            elif n not in state:
                visit(n, [*stack, n])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert not cycles, f"import cycles: {cycles[:3]}"


def test_serving_code_imports_no_training_code_and_no_paddle():
    g = graph()
    bad = []
    for m, path in ((m, p) for m, p in ((module_name(p), p) for p in PKG.rglob("*.py"))):
        if not m.startswith(SERVING) or m.endswith("paddle_runner"):
            continue  # paddle_runner is the optional Paddle Inference step: paddle is its point
        imports = top_level_imports(path)
        bad += [(m, i) for i in g[m] if i.startswith(TRAINING_SIDE)]
        bad += [(m, i) for i in imports if i.split(".")[0] in ("paddle", "paddlenlp", "paddleslim")]
    assert not bad, bad


def test_no_file_edits_sys_path():
    offenders = [
        str(p.relative_to(ROOT))
        for d in ("hiercls", "training", "builders", "clients", "benchmarks", "tests", "scripts")
        for p in (ROOT / d).rglob("*.py")
        if "sys.path.insert" in p.read_text(encoding="utf-8") or "sys.path.append" in p.read_text(encoding="utf-8")
    ]
    offenders.remove("tests/test_package_structure.py")
    assert not offenders, offenders


def test_library_takes_configs_not_argparse_namespaces():
    offenders = [str(p.relative_to(ROOT)) for p in PKG.rglob("*.py") if "getattr(args" in p.read_text(encoding="utf-8")]
    assert not offenders, offenders
