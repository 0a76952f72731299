"""Named mistakes (issue 15): the grader says which known wrong variant a failed function is.

The catalogues ``autograder/hidden/aNN_name_mistakes.py`` are checked against the solutions
and the book (every edit applies, every variant differs from the reference on its probes, every
book anchor is a heading of its chapter, no text shows solution code). Each entry is
recognised when a student submits exactly that mistake (students built with
``cases.student_notebook``), the solution and the stub never trigger one, a mistake outside
the catalogue keeps the plain feedback, and the verdicts (so the points) are the same with and
without diagnosis. The class summary counts the mistakes, and the HTML feedback of a class
graded by the real ``optreg grade`` shows them.
"""

from __future__ import annotations

import csv
import functools
import html
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optreg.grading import ASSIGNMENTS
from optreg.grading.course import find_course_root
from optreg.grading.diagnose import (
    _FAILED,
    ENV_BOOK_URL,
    _matches,
    book_sections,
    load_catalogue,
    mistakes_path,
    solution_cells,
)
from optreg.grading.grader import grade_notebook, hidden_tests_path, load_hidden
from optreg.grading.report import write_summary

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402


@functools.cache
def catalogue(assignment: str):
    return load_catalogue(hidden_tests_path(ROOT, assignment))


@functools.cache
def hidden(assignment: str):
    return load_hidden(hidden_tests_path(ROOT, assignment))


def entry_ids(assignment: str) -> list[str]:
    """The catalogue's ids, read without building its variants (for test collection)."""
    text = mistakes_path(hidden_tests_path(ROOT, assignment)).read_text()
    return re.findall(r'^\s+Mistake\(\s*"(\w+)"', text, re.MULTILINE)


def grade(assignment: str, edits=(), solved=True, diagnose=True, **limits):
    nb = cases.student_notebook(ROOT, assignment, edits, solved=solved)
    return grade_notebook(
        nb, hidden(assignment), catalogue=catalogue(assignment) if diagnose else None, **limits
    )


def named(grading) -> dict[str, list[str]]:
    return {cell: [n.mistake.id for n in found] for cell, found in grading.mistakes.items()}


def verdicts(grading) -> dict:
    return {g: (v.passed, v.messages) for g, v in grading.verdicts.items()}


# -- the catalogues -------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogue_names_five_mistakes_each_a_real_distinct_variant(assignment):
    cat = catalogue(assignment)
    ids = [m.id for m in cat.mistakes]
    assert len(ids) >= 5 and len(set(ids)) == len(ids) and ids == entry_ids(assignment)
    for m in cat.mistakes:
        assert callable(cat.reference.get(m.function)), f"{m.id}: {m.function} is not graded"
        found = {c[0].id: c for c in cat.candidates(m.function)}
        assert m.id in found, f"{m.id}: its variant equals the solution on the probes"
        _, variant, _ = found[m.id]
        assert any(v is not _FAILED for v in variant), f"{m.id}: raises on every probe"
        # told apart from the catalogue's other mistakes of the same function
        twins = [c[0].id for c in found.values() if c[0].id != m.id and _matches(c[1], variant)]
        assert not twins, f"{m.id} looks like {twins} on the probes"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_book_anchor_is_a_heading_of_its_chapter(assignment):
    for m in catalogue(assignment).mistakes:
        chapter, anchor = m.section.split("#")
        assert (ROOT / "book" / f"{chapter}.ipynb").is_file(), m.section
        assert anchor in book_sections(ROOT, chapter), f"{m.id}: no heading {m.section}"
        url, heading = catalogue(assignment).link(m)
        assert url.endswith(f"book/{chapter}.html#{anchor}") and heading != anchor


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_explanation_shows_solution_code(assignment):
    import nbformat

    solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)
    code = {
        line.strip()
        for source in solution_cells(solution).values()
        for line in source.splitlines()
        if len(line.strip()) >= 12 and not line.strip().startswith(('"""', "#", "def "))
    }
    for m in catalogue(assignment).mistakes:
        for text in (m.explanation, m.check, m.title):
            shown = [line for line in code if line in text]
            assert not shown, f"{m.id} shows solution code: {shown}"


def test_catalogues_stay_in_the_instructors_repository():
    from optreg import publish

    secret = publish.secret_lines(ROOT)
    for assignment in ASSIGNMENTS:
        path = mistakes_path(hidden_tests_path(ROOT, assignment))
        assert publish._excluded(path.relative_to(ROOT).as_posix())
        long_lines = [
            line.strip()
            for line in path.read_text().splitlines()
            if len(line.strip()) >= publish.MIN_SECRET_LENGTH
        ]
        assert any(line in secret for line in long_lines), path.name
    # the exported grading code quotes none of them
    for module in ("diagnose.py", "report.py", "grader.py"):
        text = (ROOT / "src" / "optreg" / "grading" / module).read_text()
        assert not [line for line in text.splitlines() if line.strip() in secret], module


# -- recognised, and only then --------------------------------------------------------------
ENTRIES = [(a, i) for a in ASSIGNMENTS for i in entry_ids(a)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("assignment", "mistake"), ENTRIES, ids=[f"{a}-{i}" for a, i in ENTRIES])
def test_a_student_with_exactly_that_mistake_is_told_its_name(assignment, mistake):
    entry = next(m for m in catalogue(assignment).mistakes if m.id == mistake)
    grading = grade(assignment, entry.edits)
    found = named(grading)
    direct = [
        cell
        for cell, named_here in grading.mistakes.items()
        if any(n.mistake.id == mistake and n.function == entry.function for n in named_here)
    ]
    assert direct, f"{mistake} not named (named: {found})"
    for cell, ids in found.items():
        assert not grading.verdicts[cell].passed, f"a note on the passed cell {cell}"
        assert ids == [mistake], f"{cell}: {ids}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_and_the_stub_trigger_no_named_mistake(assignment):
    solution = grade(assignment)
    assert all(v.passed for v in solution.verdicts.values()) and solution.mistakes == {}
    stub = grade(assignment, solved=False)
    assert not any(v.passed for v in stub.verdicts.values()) and stub.mistakes == {}


# wrong implementations the catalogue does not know: plain "expected / got" feedback
OUTSIDE = {
    "01_optimizers": [("sgd_step", "theta - learning_rate * grad", "theta - 0.5 * grad")],
    "02_schedules": [("piecewise_constant", "return values[-1]", "return values[0]")],
    "03_initialization": [("activation_variances", "a.var()", "a.std()")],
    "04_normalization": [
        ("layernorm", "gamma * x_hat + beta, (x_hat", "gamma * x_hat - beta, (x_hat")
    ],
    "05_regularization": [("max_norm", "np.clip(norms, 0, max_value)", "max_value")],
    "06_augmentation": [("contrast_gamma", "mean + factor * (images - mean)", "factor * images")],
}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_mistake_outside_the_catalogue_keeps_the_plain_feedback(assignment):
    with_diagnosis = grade(assignment, OUTSIDE[assignment])
    failed = [g for g, v in with_diagnosis.verdicts.items() if not v.passed]
    assert failed, "the unknown mistake must fail a cell"
    assert with_diagnosis.mistakes == {}
    plain = grade(assignment, OUTSIDE[assignment], diagnose=False)
    assert verdicts(with_diagnosis) == verdicts(plain)
    assert all(
        re.search(r"expected|wrong value", " ".join(with_diagnosis.verdicts[g].messages))
        for g in failed
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_diagnosis_changes_no_verdict(assignment):
    """Two named mistakes in different cells, plus one the catalogue does not know."""
    first, second = catalogue(assignment).mistakes[0], catalogue(assignment).mistakes[-1]
    edits = [*first.edits, *second.edits, *OUTSIDE[assignment]]
    with_diagnosis, plain = grade(assignment, edits), grade(assignment, edits, diagnose=False)
    assert verdicts(with_diagnosis) == verdicts(plain)
    ids = {i for found in named(with_diagnosis).values() for i in found}
    assert {first.id, second.id} <= ids


def test_a_student_that_hangs_on_a_probe_costs_the_note_only():
    """adam_step without bias correction that spins forever on one of the catalogue's probes:
    the probe's call is stopped, nothing more is called (no restart), the verdicts stand."""
    entry = next(
        m for m in catalogue("01_optimizers").mistakes if m.id == "adam_no_bias_correction"
    )
    spin = (
        "adam_step",
        "    t = t + 1\n",
        "    if learning_rate == 0.05 and beta_2 == 0.99:\n        while True:\n"
        "            pass\n    t = t + 1\n",
    )
    start = time.monotonic()
    grading = grade("01_optimizers", [*entry.edits, spin], call_timeout=1)
    assert time.monotonic() - start < 30
    plain = grade("01_optimizers", [*entry.edits, spin], diagnose=False, call_timeout=1)
    assert verdicts(grading) == verdicts(plain)
    assert "test_adam_step" not in grading.mistakes


def test_probes_stop_at_the_time_limit():
    """A student whose function is slow on every call is probed only until the limit."""
    calls = []

    class Slow:  # stands in for the student's proxy
        def __getattr__(self, name):
            def function(*args, **kwargs):
                calls.append(name)
                time.sleep(0.05)
                return 0.0

            return function

    cat = catalogue("02_schedules")
    assert len(cat.probes["one_cycle"]()) > 10
    assert cat.diagnose("one_cycle", Slow(), stop=time.monotonic() + 0.2) == []
    assert 1 <= len(calls) <= 6, calls


# -- what the student and the instructor read --------------------------------------------------
def test_the_note_names_the_mistake_what_to_check_and_the_book_section(monkeypatch):
    cat = catalogue("01_optimizers")
    entry = next(m for m in cat.mistakes if m.id == "adam_no_bias_correction")
    from optreg.grading.diagnose import Named, book_base_url

    monkeypatch.delenv(ENV_BOOK_URL, raising=False)
    default = book_base_url(ROOT)
    assert cat.link(entry)[0] == f"{default}book/01_optimizers.html#adam-and-bias-correction"
    monkeypatch.setenv(ENV_BOOK_URL, "https://course.example.edu/optreg/")
    assert book_base_url(ROOT) == "https://course.example.edu/optreg/"
    cat.book_url = book_base_url(ROOT)
    output = cat.output([Named(entry, "adamw_step")])
    text, page = output.data["text/plain"], output.data["text/html"]
    assert "Likely mistake in adamw_step (through adam_step): Adam without bias correction." in text
    assert entry.explanation in text and entry.check in text
    assert "Adam and bias correction (https://course.example.edu/optreg/book/01_optimizers" in text
    assert (
        '<a href="https://course.example.edu/optreg/book/01_optimizers.html#adam-and-bias-'
        'correction">Adam and bias correction</a>' in page
    )
    tags = set(re.findall(r"</?(\w+)", page))
    assert tags <= {"strong", "em", "code", "ul", "li", "a"}, tags  # what SanitizeHTML keeps
    assert output.metadata["optreg"]["mistakes"] == ["adam_no_bias_correction"]


def _row(student, mistakes, score=0.0):
    return {
        "student_id": student,
        "assignment": "01_optimizers",
        "score": score,
        "max_score": 5.0,
        "status": "graded",
        "cells": {},
        "mistakes": {
            cell: [{"id": i, "function": f, "title": t} for i, f, t in found]
            for cell, found in mistakes.items()
        },
    }


def test_the_class_summary_counts_students_per_named_mistake(tmp_path):
    bias = ("adam_no_bias_correction", "adam_step", "Adam without bias correction")
    sign = ("momentum_wrong_sign", "momentum_step", "wrong sign")
    rows = [
        _row("a", {"test_adam_step": [bias], "test_adamw_step": [bias]}),
        _row("b", {"test_adam_step": [bias], "test_momentum_step": [sign]}),
        _row("c", {}),
        {**_row("d", {}), "status": "error"} | {"mistakes": None},  # an error row has none
    ]
    points = {"test_momentum_step": 2.0, "test_adam_step": 3.0}
    write_summary(tmp_path, rows, points)
    md = (tmp_path / "summary.md").read_text()
    assert (
        "| adam_no_bias_correction | adam_step | Adam without bias correction | 2 | "
        "test_adam_step, test_adamw_step |" in md
    )
    assert "| momentum_wrong_sign | momentum_step | wrong sign | 1 | test_momentum_step |" in md
    assert md.index("adam_no_bias_correction | adam_step") < md.index("momentum_wrong_sign |")
    assert re.search(r"\| test_adam_step \|.*\| adam_no_bias_correction \(2\) \|", md)
    with open(tmp_path / "mistakes.csv") as fh:
        table = list(csv.DictReader(fh))
    assert [(r["mistake"], r["students"]) for r in table] == [
        ("adam_no_bias_correction", "2"),
        ("momentum_wrong_sign", "1"),
    ]
    assert (tmp_path / "summary.png").stat().st_size > 10_000
    write_summary(tmp_path / "none", [_row("c", {})], points)
    assert (
        "No failed test matched a named mistake." in (tmp_path / "none" / "summary.md").read_text()
    )


def _visible_text(page: str) -> str:
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_optreg_grade_feedback_and_summary_show_the_named_mistake(tmp_path):
    """The real ``optreg grade`` (sandbox on) on a class of three: the feedback of the student
    who forgot Adam's bias correction names it with its book link, the others get none, the
    scores are the points of the cells the grader passes without diagnosis, and the summary
    counts the mistake."""
    assignment = "01_optimizers"
    entry = next(m for m in catalogue(assignment).mistakes if m.id == "adam_no_bias_correction")
    students = {"full": [], "no_bias": entry.edits, "outside": OUTSIDE[assignment]}
    for student, edits in students.items():
        cases.write_notebook(
            cases.student_notebook(ROOT, assignment, edits),
            tmp_path / "class" / student / f"{assignment}.ipynb",
        )
    out = tmp_path / "out"
    subprocess.run(
        [str(Path(sys.executable).with_name("optreg")), "grade", assignment]
        + [str(tmp_path / "class"), "--out", str(out), "--jobs", "2"]
        + ["--course-dir", str(tmp_path / "course")],
        check=True,
        capture_output=True,
        env={**os.environ, ENV_BOOK_URL: "https://course.example.edu/optreg"},
        cwd=ROOT,
        timeout=600,
    )
    with open(out / "grades.csv") as fh:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    points = {g: tests[0].points for g, tests in hidden(assignment).items()}
    for student, edits in students.items():
        plain = grade(assignment, edits, diagnose=False)
        want = sum(points[g] for g, v in plain.verdicts.items() if v.passed)
        assert scores[student] == want, (student, scores)
    page = (out / "feedback" / "no_bias" / f"{assignment}.html").read_text()
    text = _visible_text(page)
    # the score list names each test cell (nbgrader's template says "Test cell" for all)
    assert '<a href="#test_adam_step">test_adam_step</a> (Score: 0.0 / 2.0)' in page
    assert ">Test cell</a>" not in page
    assert "Likely mistake in adam_step: Adam without bias correction." in text
    assert "Likely mistake in adamw_step (through adam_step)" in text
    assert entry.explanation in text and entry.check in text
    assert (
        'href="https://course.example.edu/optreg/book/01_optimizers.html#adam-and-bias-correction"'
        in page
    )
    for student in ("full", "outside"):
        other = _visible_text((out / "feedback" / student / f"{assignment}.html").read_text())
        assert "Likely mistake" not in other, student
    summary = (out / "summary.md").read_text()
    assert "| adam_no_bias_correction | adam_step | Adam without bias correction | 1 |" in summary
