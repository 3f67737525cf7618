"""The layout rules of DESIGN.md: what each layer may import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_ecg"
METHODS = ("pclr", "cpc", "simclr", "byol", "w2v_cmsc", "mets", "supervised")


def module_file(dotted: str) -> Path | None:
    """The file of an sklearn_ecg module (``sklearn_ecg.nn.data``), None for other packages."""
    parts = dotted.split(".")
    if parts[0] != "sklearn_ecg":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def dotted_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import statement of ``path``."""
    package = dotted_name(path) if path.name == "__init__.py" else dotted_name(path).rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names = [alias.name for alias in node.names]
            found.append((module, names))
            # `from . import x` / `from .pkg import sub` may import submodules.
            found += [(f"{module}.{name}", []) for name in names if module_file(f"{module}.{name}")]
    return found


def third_party_reached(path: Path, seen: set[Path] | None = None) -> set[str]:
    """Top-level packages outside sklearn_ecg that importing ``path`` loads (following its
    sklearn_ecg imports, and the parent packages they run)."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    reached = set()
    for module, _ in imports(path):
        target = module_file(module)
        if target is None:
            if not module.startswith("sklearn_ecg"):
                reached.add(module.split(".")[0])
            continue
        reached |= third_party_reached(target, seen)
    return reached


NN_FILES = sorted((PACKAGE / "nn").glob("*.py"))


@pytest.mark.parametrize("path", NN_FILES, ids=lambda p: p.name)
def test_nn_imports_no_scikit_learn_or_skorch(path):
    assert not third_party_reached(path) & {"sklearn", "skorch"}


@pytest.mark.parametrize("path", sorted((PACKAGE / "preprocessing").glob("*.py")), ids=lambda p: p.name)
def test_preprocessing_imports_no_torch(path):
    assert not third_party_reached(path) & {"torch", "skorch"}


def test_no_module_imports_a_private_name_of_another_module():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        own_package = dotted_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else dotted_name(path)
        for module, names in imports(path):
            if not module.startswith("sklearn_ecg"):
                continue
            same_package = module.rsplit(".", 1)[0] == own_package or module == own_package
            private = [name for name in names if name.startswith("_")]
            # Shared private modules (_base, _engine, ...) are fine to import from; private names
            # of a method module or of another subpackage are not.
            if private and (module.rsplit(".", 1)[-1] in METHODS or not same_package):
                offenders.append(f"{dotted_name(path)}: from {module} import {private}")
    assert not offenders, offenders
