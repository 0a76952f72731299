"""Write the nbgrader source notebooks ``solutions/<NN_name>/<NN_name>.ipynb``.

Usage: ``python autograder/make_sources.py [DEST]`` (DEST defaults to the repository's
``solutions/``). The notebooks are generated from ``autograder/sources/a*.py`` so that they are
reproducible and every hidden test passes the lint in ``nbsrc.lint_hidden``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "sources"))

import nbformat  # noqa: E402
from nbsrc import notebook  # noqa: E402

MODULES = ["a01_optimizers", "a02_schedules", "a03_initialization", "a04_normalization",
           "a05_regularization", "a06_augmentation"]


def available_modules() -> list[str]:
    return [m for m in MODULES if (HERE / "sources" / f"{m}.py").exists()]


def build(dest: Path) -> list[Path]:
    written = []
    for module_name in available_modules():
        module = importlib.import_module(module_name)
        path = dest / module.NAME / f"{module.NAME}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook(module.CELLS), str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "solutions"
    for p in build(target):
        print(p)
