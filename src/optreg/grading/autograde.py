"""Grading one student: a private nbgrader course directory, the verdicts, feedback.

Each student is graded in a fresh temporary course directory holding only a copy of the master
gradebook and that student's (rebuilt) notebook. nbgrader's ``Autograde`` restores read-only
and test cells from the gradebook; in place of nbgrader's ``Execute``,
:class:`~optreg.grading.grader.GradeOutsideSandbox` runs the student's code in the sandbox
(:mod:`optreg.grading.sandbox`) and decides every test cell in this process, then nbgrader's
``SaveAutoGrades`` records the scores. The result (scores per graded cell, status, message, and
what ``SaveAutoGrades`` recorded) is returned as a dict; the submitted and autograded notebooks
are copied into the course directory. The private gradebook is thrown away: the parent process
alone writes the course gradebook (:mod:`optreg.grading.gradebook`), one student at a time.

``python -m optreg.grading.autograde`` is a worker: it reads one JSON task per line on stdin and
answers one JSON result per line on stdout, so that nbgrader is imported once per worker, not
once per student.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import nbformat

from optreg.grading.course import (
    ensure_venv_on_path,
    fast_gradebook_creation,
    workspace_config,
)
from optreg.grading.grader import GradeOutsideSandbox
from optreg.grading.sandbox import Limits, sandbox_prefix
from optreg.grading.submissions import InvalidNotebook, read_tolerant, rebuild


def build_master(source_nb: Path, workdir: Path, assignment: str) -> tuple[Path, Path]:
    """Gradebook and release notebook of ``assignment``, built once into ``workdir``.

    ``workdir`` is named after the source notebook and hidden tests it is built from (the
    runner puts it in the course directory, never in the grading output: the gradebook holds
    the solutions' source cells). It is built aside and renamed into place, so two runs that
    build it at once both end with a complete one. Returns (gradebook path, release notebook
    path)."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    db = workdir / "gradebook.db"
    release = workdir / "release" / assignment / f"{assignment}.ipynb"
    if db.is_file() and release.is_file():
        return db, release
    ensure_venv_on_path()
    fast_gradebook_creation()
    workdir.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{workdir.name}-", dir=workdir.parent))
    try:
        (building / "source" / assignment).mkdir(parents=True)
        shutil.copy(source_nb, building / "source" / assignment / f"{assignment}.ipynb")
        config = workspace_config(building, db_path=building / "gradebook.db")
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = assignment
        app = GenerateAssignment(coursedir=coursedir, config=config)
        app.force, app.create_assignment = True, True
        app.log.setLevel(logging.ERROR)
        app.start()
        shutil.rmtree(building / "source")  # the solutions: not needed to grade
        try:
            os.rename(building, workdir)
        except OSError:  # built meanwhile by another run
            if not (db.is_file() and release.is_file()):
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return db, release


def _grading_config(course: Path, db: Path, task: dict):
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        LimitOutput,
        SaveAutoGrades,
    )

    c = workspace_config(course, db_path=db)
    c.Autograde.autograde_preprocessors = [
        GradeOutsideSandbox,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    c.OverwriteCells.add_missing_cells = True
    timeout = float(task["timeout"])
    c.GradeOutsideSandbox.hidden_tests = task["hidden_tests"]
    c.GradeOutsideSandbox.cell_timeout = timeout
    c.GradeOutsideSandbox.call_timeout = float(task.get("call_timeout", min(timeout, 10)))
    c.GradeOutsideSandbox.budget = float(task.get("budget", 300))
    c.GradeOutsideSandbox.report = str(course / "report.json")
    if task.get("sandbox", True):
        limits = Limits(
            **{"cpu_seconds": int(task.get("budget", 300)) + 10, **task.get("limits", {})}
        )
        c.GradeOutsideSandbox.sandbox_prefix = sandbox_prefix(int(task["uid"]), limits)
    return c


def _scores(db: Path, assignment: str, student: str) -> tuple[float, float, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(db)) as gb:
        submission = gb.find_submission(assignment, student)
        cells = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = float(grade.score or 0.0)
        return float(submission.score or 0.0), float(submission.max_score), cells


def _recorded(db: Path, assignment: str, student: str) -> dict:
    """What nbgrader's SaveAutoGrades wrote for this student, per notebook: {"grades": {cell:
    [auto_score or None, needs_manual_grade]}, "comments": {cell: auto_comment}}, for the
    course gradebook (:func:`optreg.grading.gradebook.record`)."""
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(db)) as gb:
        submission = gb.find_submission(assignment, student)
        return {
            nb.name: {
                "grades": {g.name: [g.auto_score, bool(g.needs_manual_grade)] for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
            }
            for nb in submission.notebooks
        }


def _publish(course: Path, task: dict) -> None:
    """Copy the submitted and the autograded notebook into the course directory, where stock
    ``nbgrader formgrader`` shows them (the gradebook rows are written by the parent)."""
    for kind in ("submitted", "autograded"):
        target = task.get(f"{kind}_dir")
        if not target:
            continue
        target = Path(target)
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(course / kind / task["student_id"] / task["assignment"], target)


def max_scores(db: Path, assignment: str) -> tuple[float, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(db)) as gb:
        found = gb.find_assignment(assignment)
        cells = {g.name: float(g.max_score) for nb in found.notebooks for g in nb.grade_cells}
        return float(found.max_score), cells


_FEEDBACK_APPS: dict = {}

# nbgrader's feedback template lists every graded test as "Test cell"; the link's anchor is the
# cell's grade id (one of the release's, rebuild() drops any other), so the list can name it.
_UNNAMED_TEST = re.compile(r'<a href="#([A-Za-z0-9_-]+)">Test cell</a>')


def name_test_cells(html: str) -> str:
    """The feedback's score list with each test cell's name in place of "Test cell"."""
    return _UNNAMED_TEST.sub(r'<a href="#\1">\1</a>', html)


def write_feedback(course: Path, db_url: str, assignment: str, student: str, target: Path) -> None:
    """nbgrader's feedback HTML for ``student`` from the course directory ``course`` (its
    ``autograded/`` copy) and the gradebook ``db_url``, written into ``target`` with the test
    cells named in its score list."""
    produced = _feedback(course, db_url, {"assignment": assignment, "student_id": student})
    target.mkdir(parents=True, exist_ok=True)
    for html in produced.glob("*.html"):
        page = name_test_cells(html.read_text(encoding="utf-8"))
        (target / html.name).write_text(page, encoding="utf-8")


def _feedback(course: Path, db_url: str, task: dict) -> Path:
    """nbgrader's feedback HTML (hidden tests are not in the notebook: nothing to remove).

    One GenerateFeedback app is kept per process and pointed at each student's course
    directory in turn: building it compiles the HTML templates, which costs more than the
    rendering itself."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    app = _FEEDBACK_APPS.get("app")
    if app is None:
        config = workspace_config(course, db_path=course / "gradebook.db")
        # the student's markdown and outputs are hostile: no script, handler or iframe
        # (nbgrader's feedback template ignores sanitize_html: sanitize the cells themselves)
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from nbconvert.preprocessors.sanitize import SanitizeHTML
        from nbgrader.preprocessors import GetGrades

        config.HTMLExporter.sanitize_html = True
        config.SanitizeHTML.enabled = True
        config.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, SanitizeHTML]
        app = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
        app.force = True
        app.log.setLevel(logging.ERROR)
        _FEEDBACK_APPS["app"] = app
    app.coursedir.root = str(course)
    app.coursedir.db_url = db_url
    app.coursedir.assignment_id, app.coursedir.student_id = task["assignment"], task["student_id"]
    app.start()
    return course / "feedback" / task["student_id"] / task["assignment"]


def grade_student(task: dict) -> dict:
    """Grade one student (see the module docstring). Never raises: failures become a status.

    ``task`` keys: student_id, assignment, notebook (path or None), notes, master_db,
    release_nb, hidden_tests, feedback_dir, timeout, call_timeout, budget, uid, sandbox,
    limits; optional: submitted_dir, autograded_dir (where the course directory keeps this
    student's copies), timestamp."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    ensure_venv_on_path()
    student, assignment = task["student_id"], task["assignment"]
    max_score, _ = max_scores(Path(task["master_db"]), assignment)
    row = {
        "student_id": student,
        "assignment": assignment,
        "score": 0.0,
        "max_score": max_score,
        "status": "graded",
        "message": "",
        "cells": {},
    }
    notes = list(task.get("notes", []))
    if task.get("problem"):
        row.update(status="invalid", message="; ".join([*notes, task["problem"]]))
        return row
    if task.get("notebook") is None:
        row.update(status="missing", message="; ".join(notes) or "no notebook submitted")
        return row
    tmp = Path(tempfile.mkdtemp(prefix="og-"))
    try:
        release = nbformat.read(task["release_nb"], as_version=4)
        try:
            rebuilt, repairs = rebuild(read_tolerant(Path(task["notebook"])), release)
        except InvalidNotebook as exc:
            row.update(status="invalid", message="; ".join([*notes, str(exc)]))
            return row
        notes += repairs
        course = tmp / "c"
        db = course / "gradebook.db"
        (course / "source" / assignment).mkdir(parents=True)
        submitted = course / "submitted" / student / assignment
        submitted.mkdir(parents=True)
        nbformat.write(rebuilt, submitted / f"{assignment}.ipynb")
        shutil.copy(task["master_db"], db)
        config = _grading_config(course, db, task)
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id, coursedir.student_id = assignment, student
        app = Autograde(coursedir=coursedir, config=config)
        app.force = True
        app.log.setLevel(logging.ERROR)
        app.start()
        row["score"], row["max_score"], row["cells"] = _scores(db, assignment, student)
        row["gradebook"] = _recorded(db, assignment, student)
        if task.get("timestamp"):
            (submitted / "timestamp.txt").write_text(task["timestamp"])
        _publish(course, task)
        report = json.loads((course / "report.json").read_text())
        notes += report["notes"]
        row["mistakes"] = report.get("mistakes", {})  # named per failed cell (diagnose.py)
        if task.get("feedback_dir"):
            target = Path(task["feedback_dir"])
            write_feedback(course, f"sqlite:///{db}", assignment, student, target)
            row["feedback_score"] = row["score"]  # the parent redoes it if the total differs
        row["message"] = "; ".join(notes)
    except Exception as exc:  # a grader failure must still give this student a row
        row.update(
            status="error",
            score=0.0,
            cells={},
            message="; ".join([*notes, f"grading failed: {type(exc).__name__}: {exc}"]),
        )
        print(traceback.format_exc(), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return row


GRADER_PID = "OPTREG_GRADER_PID"  # set by the runner that starts the worker


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """End the worker when the grader that started it is gone, even killed by SIGKILL: the
    worker has a session of its own, and a grading that nobody records must not go on writing
    into the course directory (the student's sandbox dies with it: ``bwrap --die-with-parent``)."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def worker_main() -> int:
    """The worker loop described in the module docstring."""
    parent = int(os.environ.get(GRADER_PID, os.getppid()))  # the grader, even if already gone
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printing on stdout must not corrupt the protocol
    for line in sys.stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        out.write(json.dumps(grade_student(task)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
