"""The shape of the house, checked: imports flow one way (`api -> intake -> (ocr, rules,
storage)`), `ocr/` and `rules/` stay pure, no module imports itself back through others,
and every error code the code raises is declared once in the registry."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake.errors import REGISTRY, declare

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "intake", "ocr", "rules", "storage", "samples")

# What each package may import of the project's own packages.
ALLOWED = {
    "api": {"api", "intake", "ocr", "rules", "storage", "samples"},  # samples: `demo` only
    "intake": {"intake", "ocr", "rules", "storage"},
    "ocr": {"ocr"},
    "rules": {"rules"},
    "storage": {"storage"},
    "samples": {"samples", "intake", "rules"},  # the CJK font finder and the catalog
}
# Libraries that would make a pure package impure.
IMPURE = ("sqlalchemy", "alembic", "psycopg", "fastapi", "starlette", "uvicorn", "celery",
          "kombu", "redis", "minio", "httpx", "requests")


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (a lazy import is still
    a dependency), except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for child in node.body for n in ast.walk(child))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = dict(_modules())
GRAPH = {name: {m for m in _imports(path) if m in MODULES and m != name}
         for name, path in MODULES.items()}


def test_packages_import_only_downwards() -> None:
    wrong = sorted(
        f"{name} imports {target}" for name, targets in GRAPH.items() for target in targets
        if target.split(".")[0] not in ALLOWED[name.split(".")[0]])
    assert wrong == []


@pytest.mark.parametrize("package", ["ocr", "rules"])
def test_pure_packages_import_no_database_web_or_queue_library(package: str) -> None:
    impure = sorted(
        f"{name}: {module}" for name, path in MODULES.items() if name.split(".")[0] == package
        for module in _imports(path) if module.split(".")[0] in IMPURE)
    assert impure == []


def test_no_import_circle() -> None:
    """Depth-first search for a back edge; the cycle found is named in the failure."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        # Importing `a.b` runs `a/__init__.py` first; a package's own init is not a cycle.
        for target in sorted(GRAPH[node]):
            if node.startswith(target + "."):
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(GRAPH):
        if module not in state and (cycle := visit(module)) is not None:
            pytest.fail("import circle: " + " -> ".join(cycle))


def test_runtime_packages_hold_no_sample_generator() -> None:
    assert not (ROOT / "intake" / "samples.py").exists()
    runtime = [name for name in MODULES if name.split(".")[0] != "samples"]
    assert not [n for n in runtime if any(t.startswith("samples") for t in GRAPH[n])
                and not n.startswith("api.cli")]


_RAISED = re.compile(
    r"""(?:IntakeError|message|SourceError\.of|fail_page\([^,]+,)\(?\s*["']([a-z_]+\.[a-z_.]+)["']""")
_CONSTANT = re.compile(r"""^[A-Z_]+ = ["']([a-z_]+\.[a-z_.]+)["']""", re.M)


def test_every_code_the_code_raises_is_registered() -> None:
    used: dict[str, str] = {}
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        for code in [*_RAISED.findall(text), *_CONSTANT.findall(text)]:
            used.setdefault(code, name)
    assert "case.not_found" in used and "file.empty" in used  # the scan finds raise sites
    unknown = {code: where for code, where in used.items()
               if code not in REGISTRY and not code.startswith(("docintake.", "certificate."
                                                                 "reuse"))}
    assert unknown == {}


def test_each_code_has_one_status_and_a_chinese_then_english_message() -> None:
    for code, spec in REGISTRY.items():
        assert 400 <= spec.status < 600, code
        text = spec.message()
        assert re.search(r"[\u4e00-\u9fff]", spec.zh), code
        assert not re.search(r"[\u4e00-\u9fff]", spec.en), code
        assert text.startswith(spec.zh.split("{")[0]) and text.endswith(")"), code


def test_a_code_cannot_be_declared_twice() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        declare("case.not_found", 404, "重复", "again")
