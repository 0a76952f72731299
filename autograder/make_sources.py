"""Write the nbgrader source notebooks ``solutions/<NN_name>/<NN_name>.ipynb``.

Usage: ``python autograder/make_sources.py [DEST]`` (DEST defaults to the repository's
``solutions/``). The notebooks are generated from ``autograder/sources/a*.py`` so that they are
reproducible; each test cell's points are those its hidden tests declare (``@grades`` in
``autograder/hidden/aNN_name.py``), and every test cell must have hidden tests (the manually
graded written answers, ``nbsrc.written``, have none).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "sources"))

import nbformat  # noqa: E402
from nbsrc import is_written, notebook  # noqa: E402

from optreg.grading.grader import hidden_points  # noqa: E402

MODULES = [
    "a01_optimizers",
    "a02_schedules",
    "a03_initialization",
    "a04_normalization",
    "a05_regularization",
    "a06_augmentation",
]


def available_modules() -> list[str]:
    return [m for m in MODULES if (HERE / "sources" / f"{m}.py").exists()]


def build(dest: Path) -> list[Path]:
    written = []
    for module_name in available_modules():
        module = importlib.import_module(module_name)
        points = hidden_points(HERE / "hidden" / f"{module_name}.py")
        nb = notebook(module.CELLS)
        graded = [  # autograded test cells; written answers keep their own points
            c.metadata["nbgrader"]
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")
            and not is_written(c.metadata["nbgrader"])
        ]
        if sorted(m["grade_id"] for m in graded) != sorted(points):
            raise ValueError(
                f"{module_name}: test cells {sorted(m['grade_id'] for m in graded)} "
                f"but hidden tests for {sorted(points)}"
            )
        for meta in graded:
            meta["points"] = points[meta["grade_id"]]
        path = dest / module.NAME / f"{module.NAME}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "solutions"
    for p in build(target):
        print(p)
