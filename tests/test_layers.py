"""The import rule of docs/architecture.md, checked on the source (AST, no import):

- every module of the package belongs to one layer: domain, io, engine, face;
- domain, io and engine modules never import pytest (nor _pytest, pluggy), anywhere;
- domain and engine modules import no network library (openai, httpx, vcr) at module level;
- a layer imports only from its own layer and the layers below it (domain < io < engine < face): nothing imports
  from the face, and the domain imports nothing above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_llmcmp"

LAYERS: dict[str, tuple[str, ...]] = {
    "domain": (
        "__init__",
        "answers",
        "atomic",
        "baseline",
        "cases",
        "collected",
        "costs",
        "gates",
        "generators",
        "lexicon",
        "orderings",
        "prompts",
        "recognition",
        "redaction",
        "results",
        "safefiles",
        "settings",
        "tables",
        "stats",
        "tasks",
        "templates",
        "terminal",
        "truth",
        "words",
        "yamlerrors",
    ),
    "io": ("cassettes", "client", "housekeeping", "local", "migrate", "readahead", "tapes", "wire"),
    "engine": (
        "engine",
        "engine.backends",
        "engine.host",
        "engine.messages",
        "engine.plan",
        "engine.recorder",
        "engine.remote",
        "engine.runner",
        "engine.targets",
    ),
    "face": (
        "builtin",
        "config",
        "distributed",
        "fixture",
        "gating",
        "hookspecs",
        "items",
        "junit",
        "outputs",
        "plugin",
        "reports",
        "reports.html",
        "reports.markdown",
        "reports.models",
        "reports.terminal",
        "reports.text",
        "runners",
        "session",
        "summary",
    ),
}
RANK = {"domain": 0, "io": 1, "engine": 2, "face": 3}
LAYER_OF = {module: layer for layer, modules in LAYERS.items() for module in modules}
PYTEST = ("pytest", "_pytest", "pluggy")
NETWORK = ("openai", "httpx", "httpx2", "vcr")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> list[tuple[str, bool]]:
    """Every imported module (absolute, dotted) and whether the import is at module level (not in a function and
    not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["pytest_llmcmp", *module_name(path).split(".")]
    if path.name != "__init__.py":
        package.pop()
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    name = ".".join([*base, child.module] if child.module else base)
                else:
                    name = child.module or ""
                if (name.startswith("pytest_llmcmp") and not child.module) or name == "pytest_llmcmp":
                    # from . import x, y (or from pytest_llmcmp import x): each name is a module or in one
                    found.extend((f"{name}.{alias.name}", top) for alias in child.names)
                else:
                    found.append((name, top))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            ):
                visit(child, False)
            else:
                visit(child, top)

    visit(tree, True)
    return found


def own(name: str) -> str | None:
    """The package module an import names (``pytest_llmcmp.engine.runner`` -> ``engine.runner``), or None."""
    if name == "pytest_llmcmp":
        return "__init__"
    if not name.startswith("pytest_llmcmp."):
        return None
    module = name.removeprefix("pytest_llmcmp.")
    while module not in MODULES and "." in module:  # a name imported from a module: its module
        module = module.rsplit(".", 1)[0]
    return module


def test_every_module_has_one_layer() -> None:
    assert set(MODULES) - set(LAYER_OF) == set(), "classify the new module in tests/test_layers.py and the doc"
    assert set(LAYER_OF) - set(MODULES) <= {"distributed"}, "a listed module does not exist any more"


@pytest.mark.parametrize("module", [m for m in MODULES if LAYER_OF.get(m) != "face"])
def test_below_the_face_no_pytest_and_no_network_at_import(module: str) -> None:
    layer = LAYER_OF[module]
    for name, top in imports(MODULES[module]):
        root = name.split(".", 1)[0]
        assert root not in PYTEST, f"{module} ({layer}) imports {name}"
        if layer in ("domain", "engine") and top:
            assert root not in NETWORK, f"{module} ({layer}) imports {name} at module level"


@pytest.mark.parametrize("module", list(MODULES))
def test_imports_go_down_only(module: str) -> None:
    layer = LAYER_OF[module]
    for name, _top in imports(MODULES[module]):
        target = own(name)
        if target is None or target == module:
            continue
        assert target in LAYER_OF, f"{module} imports {name}, which is not a module of the package"
        assert RANK[LAYER_OF[target]] <= RANK[layer], (
            f"{module} ({layer}) imports {target} ({LAYER_OF[target]}): imports go face -> engine -> io -> domain"
        )


def test_the_rule_is_checked_on_real_imports() -> None:
    """The checker sees relative, absolute, lazy and ``from . import`` imports (else it would pass on anything)."""
    runner = dict(imports(MODULES["engine.runner"]))
    assert runner["pytest_llmcmp.cassettes"] is True
    assert "pytest_llmcmp.engine.messages" in runner
    lazy = dict(imports(MODULES["engine.backends"]))
    assert lazy["pytest_llmcmp.client"] is False  # imported inside a method: heavy, only when asked live
    assert dict(imports(MODULES["plugin"]))["pytest"] is True
    assert own("pytest_llmcmp.tasks.task_for") == "tasks"
