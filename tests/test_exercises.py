"""The six nbgrader assignments: reproducible sources, a release identical to a fresh
``nbgrader generate_assignment``, no solution in ``exercises/`` and no hidden test in any
notebook (they live in ``autograder/hidden/`` only), complete metadata whose points are those
the hidden tests declare, and solution notebooks that run cleanly (no error, nothing on stderr
in a test cell, no TensorFlow) in under 30 s."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from optreg.grading import ASSIGNMENTS
from optreg.grading.course import find_course_root
from optreg.grading.grader import hidden_points, hidden_tests_path
from optreg.grading.release import make_sources, release_to

ROOT = find_course_root(Path(__file__).parent)


def _nb(folder: str, assignment: str):
    return nbformat.read(ROOT / folder / assignment / f"{assignment}.ipynb", 4)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def hidden_lines(assignment: str) -> set[str]:
    """The code lines (long enough to be telling) of an assignment's hidden-test file."""
    text = hidden_tests_path(ROOT, assignment).read_text()
    return {
        line.strip()
        for line in text.splitlines()
        if len(line.strip()) >= 20 and not line.strip().startswith(("#", "from ", "import "))
    }


def _solution_lines(source: str) -> list[str]:
    inside, found = False, []
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) >= 12:
            found.append(line.strip())
    return found


def test_sources_are_reproducible(tmp_path):
    written = make_sources(ROOT, tmp_path)
    assert sorted(p.parent.name for p in written) == sorted(ASSIGNMENTS)
    for path in written:
        committed = ROOT / "solutions" / path.parent.name / path.name
        assert path.read_bytes() == committed.read_bytes(), (
            f"{committed} differs from autograder/make_sources.py: run `make exercises`"
        )


def test_exercises_equal_a_fresh_nbgrader_release(tmp_path):
    for path in release_to(ROOT, tmp_path / "release"):
        committed = ROOT / "exercises" / path.parent.name / path.name
        assert committed.is_file(), f"{committed} missing: run `make exercises`"
        assert nbformat.reads(path.read_text(), 4) == nbformat.reads(committed.read_text(), 4), (
            f"{committed} differs from a fresh nbgrader release: run `make exercises`"
        )
        extra = {p.name for p in committed.parent.iterdir()} - {path.name}
        assert not extra, f"unexpected files in {committed.parent}: {extra}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_hold_no_solution_and_no_hidden_test(assignment):
    source, release = _nb("solutions", assignment), _nb("exercises", assignment)
    text = (ROOT / "exercises" / assignment / f"{assignment}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "_hidden_tests"):
        assert marker not in text
    released = "\n".join(c.source for c in release.cells)
    in_source = "\n".join(c.source for c in source.cells)
    hidden = {line for line in hidden_lines(assignment) if line not in in_source}
    assert len(hidden) > 20  # lines the hidden tests share with a solution are checked below
    assert "@grades(" not in in_source and "student." not in in_source, "hidden tests in a notebook"
    secret = set(hidden)
    for cell in source.cells:
        secret |= set(_solution_lines(cell.source))
    public = []  # what the source also shows outside solutions and hidden tests
    for cell in source.cells:
        kept = cell.source
        for begin, end in (
            ("### BEGIN SOLUTION", "### END SOLUTION"),
            ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
        ):
            kept = re.sub(f"{begin}.*?{end}", "", kept, flags=re.S)
        public.append(kept)
    public_text = "\n".join(public)
    leaked = [line for line in secret if line in released and line not in public_text]
    assert not leaked, f"{assignment}: solution or hidden test text released: {leaked[:3]}"
    assert released.count("raise NotImplementedError()") == sum(
        c.source.count("### BEGIN SOLUTION") for c in source.cells if c.cell_type == "code"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_metadata_points_and_structure(assignment):
    source = _nb("solutions", assignment)
    ids = [_meta(c)["grade_id"] for c in source.cells if _meta(c)]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    written = [c for c in source.cells if _meta(c).get("grade") and _meta(c).get("solution")]
    tests = [c for c in source.cells if _meta(c).get("grade") and c not in written]
    answers = [c for c in source.cells if _meta(c).get("solution") and c not in written]
    assert len(tests) >= 5 and len(answers) >= 4
    # one manually graded written answer (formgrader), no hidden tests, a model answer
    assert len(written) == 1, "one written answer per assignment"
    (answer,) = written
    meta = _meta(answer)
    assert answer.cell_type == "markdown" and meta["grade_id"].startswith("explain_")
    assert meta["points"] == 2 and not meta["locked"] and meta["schema_version"] == 3
    assert len(_solution_lines(answer.source)) >= 3, "the source holds a model answer"
    gid = meta["grade_id"]
    released = next(
        c for c in _nb("exercises", assignment).cells if _meta(c).get("grade_id") == gid
    )
    assert "YOUR ANSWER HERE" in released.source and "BEGIN SOLUTION" not in released.source
    assert answer.source.split("### BEGIN SOLUTION")[0].strip() in released.source, "question kept"
    for cell in tests:
        meta = _meta(cell)
        assert meta["points"] > 0 and meta["locked"] and meta["schema_version"] == 3
        assert cell.cell_type == "code"
        assert "HIDDEN TESTS" not in cell.source
    declared = hidden_points(hidden_tests_path(ROOT, assignment))
    assert declared == {_meta(c)["grade_id"]: _meta(c)["points"] for c in tests}, (
        "every test cell has hidden tests, worth the cell's points"
    )
    for cell in answers:
        assert not _meta(cell)["locked"] and not _meta(cell)["grade"]
    markdown = sum(len(c.source) for c in source.cells if c.cell_type == "markdown")
    assert markdown > 2500, "each assignment teaches: explanations in Markdown"
    code = "\n".join(c.source for c in source.cells if c.cell_type == "code")
    assert not re.search(r"^\s*(import|from)\s+(tensorflow|keras|optreg|torch)\b", code, re.M)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_runs_cleanly_in_under_30_seconds(assignment):
    nb = _nb("solutions", assignment)
    start = time.monotonic()
    NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3").execute()
    elapsed = time.monotonic() - start
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (
                f"{_meta(cell).get('grade_id')}: {output.ename}: {output.evalue}"
            )
            if _meta(cell).get("grade"):
                assert not (output.output_type == "stream" and output.name == "stderr"), (
                    f"{_meta(cell)['grade_id']} writes to stderr (nbgrader would score it 0)"
                )
    assert elapsed < 30, f"{assignment} took {elapsed:.1f} s"
