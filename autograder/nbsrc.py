"""Building blocks for the nbgrader source notebooks (used by ``make_sources.py``).

Each assignment module in ``autograder/sources/`` lists its cells with the helpers below:
``md`` (teaching text), ``code`` (free cell), ``locked`` (read-only code), ``solution``
(an autograded answer cell; the code between ``### BEGIN SOLUTION``/``### END SOLUTION`` is what
nbgrader removes), ``tests`` (a graded, locked cell with the visible tests) and ``written`` (a
manually graded Markdown answer). Hidden tests are not in the notebooks at all: they live in
``autograder/hidden/`` and run in the grader.
"""

from __future__ import annotations

import textwrap

import nbformat

SCHEMA_VERSION = 3


def _cell(cell_type: str, source: str, nbgrader: dict | None = None):
    source = textwrap.dedent(source).strip("\n")
    if cell_type == "markdown":
        cell = nbformat.v4.new_markdown_cell(source)
    else:
        cell = nbformat.v4.new_code_cell(source)
    if nbgrader is not None:
        meta = {
            "grade": False,
            "grade_id": "",
            "locked": False,
            "schema_version": SCHEMA_VERSION,
            "solution": False,
            "task": False,
        }
        meta.update(nbgrader)
        cell.metadata["nbgrader"] = meta
        if meta["locked"]:
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
    return cell


def md(text: str):
    return _cell("markdown", text)


def code(text: str):
    return _cell("code", text)


def locked(grade_id: str, text: str):
    return _cell("code", text, {"grade_id": grade_id, "locked": True})


def solution(grade_id: str, text: str):
    text = textwrap.dedent(text)
    if "### BEGIN SOLUTION" not in text or "### END SOLUTION" not in text:
        raise ValueError(f"solution cell {grade_id} has no BEGIN/END SOLUTION markers")
    return _cell("code", text, {"grade_id": grade_id, "solution": True})


def tests(grade_id: str, visible: str):
    """A graded, read-only test cell holding the visible tests of ``grade_id``.

    Its points and its hidden tests are those marked ``@grades(grade_id, points)`` in
    ``autograder/hidden/aNN_name.py`` (filled in by ``make_sources.py``); the grader runs both
    in its own process (``optreg.grading.grader``)."""
    return _cell(
        "code", visible, {"grade": True, "grade_id": grade_id, "locked": True, "points": None}
    )


def written(grade_id: str, question: str, answer: str, points: float = 2):
    """A manually graded written answer: one Markdown cell with the question and, between
    ``### BEGIN SOLUTION``/``### END SOLUTION``, the model answer, which nbgrader replaces by
    "YOUR ANSWER HERE" in the release. It has no hidden tests: the autograder leaves it to the
    formgrader (no score until a person grades it; an unchanged stub scores 0)."""
    source = (
        textwrap.dedent(question).strip("\n")
        + "\n\n### BEGIN SOLUTION\n"
        + textwrap.dedent(answer).strip("\n")
        + "\n### END SOLUTION"
    )
    return _cell(
        "markdown",
        source,
        {"grade": True, "grade_id": grade_id, "locked": False, "points": points, "solution": True},
    )


def is_written(meta: dict) -> bool:
    """Whether nbgrader metadata ``meta`` is that of a manually graded written answer."""
    return bool(meta.get("grade") and meta.get("solution"))


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    for i, cell in enumerate(nb.cells):  # stable ids keep regenerated files byte-identical
        cell["id"] = f"cell-{i:03d}"
    return nb
