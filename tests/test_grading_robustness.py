"""End to end: a class of hostile submissions (infinite loops, crashes, memory hogs, huge
output, broken JSON, missing/renamed notebooks, edited/deleted/duplicated/re-typed test cells,
inflated points, stderr noise, monkeypatching cheats, a snooper) graded by ``optreg grade``
with the sandbox on: every student gets the right row (a cell that hangs or kills the process
is skipped, the rest graded), feedback shows the grader's verdicts and no hidden test."""

from __future__ import annotations

import csv
import html
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

from optreg.cli import main
from optreg.grading.course import find_course_root
from optreg.grading.grader import hidden_tests_path
from optreg.grading.runner import CSV_COLUMNS

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

ASSIGNMENT = "02_schedules"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("robust")
    expect = cases.robustness_class(ROOT, base / "class", ASSIGNMENT)
    (base / "class" / "expectations.json").unlink()
    code = main(
        [
            "grade",
            ASSIGNMENT,
            str(base / "class"),
            "--out",
            str(base / "out"),
            "--jobs",
            "2",
            "--timeout",
            "5",
            "--memory-mb",
            "1536",
        ]
    )
    assert code == 0
    with open(base / "out" / "grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return base / "out", expect, rows


def test_one_row_per_student(graded):
    out, expect, rows = graded
    assert list(rows[0]) == CSV_COLUMNS
    assert sorted(r["student_id"] for r in rows) == sorted(expect)
    assert {r["assignment"] for r in rows} == {ASSIGNMENT}
    assert {r["max_score"] for r in rows} == {"12"}  # 10 autograded + a 2-point written answer


@pytest.mark.parametrize(
    "student",
    sorted(
        [
            "full",
            "stub",
            "infinite_loop",
            "ignores_interrupt",
            "ignores_time_limit",
            "kernel_abort",
            "sys_exit",
            "memory_hog",
            "huge_output",
            "malformed_json",
            "missing_notebook",
            "renamed_notebook",
            "deleted_tests",
            "edited_tests_wrong_code",
            "duplicated_cells",
            "retyped_tests",
            "inflated_points",
            "extra_cells",
            "stderr_warnings",
            "cheater",
            "snooper",
        ]
    ),
)
def test_row_is_right(graded, student):
    _, expect, rows = graded
    row = next(r for r in rows if r["student_id"] == student)
    want = expect[student]
    assert row["status"] == want["status"], row
    if "score" in want:
        assert float(row["score"]) == want["score"], row
    else:
        assert 0 <= float(row["score"]) < float(row["max_score"]), row
    if "message" in want:
        assert want["message"] in row["message"], row


def test_feedback_shows_results_but_no_hidden_tests(graded):
    out, expect, rows = graded
    source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    public_text = "\n".join(c.source for c in source.cells)  # a solution line a test repeats
    hidden = hidden_tests_path(ROOT, ASSIGNMENT).read_text().splitlines()
    secret = {
        line.strip()
        for line in hidden
        if len(line.strip()) >= 20 and line.strip() not in public_text
    }
    assert len(secret) > 20
    graded_students = [r["student_id"] for r in rows if r["status"] == "graded"]
    for student in graded_students:
        pages = list((out / "feedback" / student).glob("*.html"))
        assert len(pages) == 1, student
        text = html.unescape(re.sub(r"<[^>]+>", "", pages[0].read_text()))
        leaked = [line for line in secret if line in text]
        assert not leaked, f"{student}'s feedback shows hidden test code: {leaked[:3]}"
    for row in rows:  # submissions that could not be graded get a page saying why
        if row["status"] != "graded":
            page = (out / "feedback" / row["student_id"] / f"{ASSIGNMENT}.html").read_text()
            assert html.escape(row["message"]) in page
    wrong = html.unescape(
        re.sub(
            r"<[^>]+>",
            "",
            next((out / "feedback" / "edited_tests_wrong_code").glob("*.html")).read_text(),
        )
    )
    # the failing test and its message (the visible assertion of piecewise_constant here)
    assert "AssertionError: test_piecewise_constant (2 points) failed:" in wrong
    assert "got [0.1, 0.01, 0.01" in wrong
    # and the hidden tests' verdict, computed by the grader
    assert "piecewise_constant(step=0, boundaries=[0]" in wrong
    assert re.search(r"Score:\s*0(\.0)?\s*/\s*2", wrong), "per-test scores are shown"


def test_summary_written(graded):
    out, expect, rows = graded
    table = (out / "summary.md").read_text()
    for question in ("test_power_schedule", "test_one_cycle", "TOTAL"):
        assert f"| {question} |" in table
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    with open(out / "summary.csv", newline="") as fh:
        summary = {r["question"]: r for r in csv.DictReader(fh)}
    assert int(summary["TOTAL"]["students"]) == len(expect)
    states = list((out / ".grading" / ASSIGNMENT / "state").glob("*.json"))
    assert len(states) == len(expect)
    assert all(json.loads(p.read_text())["student_id"] == p.stem for p in states)
