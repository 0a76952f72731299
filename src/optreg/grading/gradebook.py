"""The course's nbgrader gradebook: where every grade of ``optreg grade`` ends up.

Each student is graded in a private course directory (:mod:`optreg.grading.autograde`); what
nbgrader's ``SaveAutoGrades`` wrote there comes back in the student's result, and
:func:`record` writes it into the course gradebook the way nbgrader's own ``Autograde`` would:
the student (with the LMS's user id and name), the submission (with its time, so nbgrader's
``AssignLatePenalties`` and its ``LateSubmissionPlugin`` apply the course's late penalty against
the assignment's due date), the automatic score and comment of every cell. A manual score
given in the formgrader is never touched: a re-run only changes automatic scores, and, as in
nbgrader, a cell with a manual score is flagged for review again.

Only the grading run's parent process calls :func:`record`, one student at a time (the runner
holds a lock), so parallel workers never write the SQLite file; another process writing the
same gradebook (a second run, the formgrader) waits on SQLite's lock.

The course directory (default ``autograder/workspace``, as in ``autograder/nbgrader_config.py``)
holds ``gradebook.db``, ``submitted/<student>/<assignment>/`` and ``autograded/...``: stock
``nbgrader export`` and ``nbgrader formgrader`` run from ``autograder/`` see everything.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from optreg.grading.course import COURSE_ID, load_course_config

COURSE_DIR_ENV = "OPTREG_COURSE_DIR"  # another default course directory (the tests set one)


@dataclass(frozen=True)
class Course:
    """The repository (``solutions/``, ``autograder/``) and the nbgrader course directory."""

    root: Path
    directory: Path
    db_url: str
    penalty_method: str = ""  # LateSubmissionPlugin.penalty_method, when not the config's

    @classmethod
    def at(
        cls,
        root: Path,
        directory: Path | None = None,
        db_url: str | None = None,
        penalty_method: str = "",
    ) -> Course:
        env = os.environ.get(COURSE_DIR_ENV)
        directory = Path(directory or env or Path(root) / "autograder" / "workspace").resolve()
        url = db_url or f"sqlite:///{directory}/gradebook.db"
        return cls(Path(root).resolve(), directory, url, penalty_method)

    def config(self) -> Config:
        """``autograder/nbgrader_config.py`` pointed at this course directory and gradebook."""
        c = load_course_config(self.root)
        c.CourseDirectory.root = str(self.root)
        for kind in ("submitted", "autograded", "feedback"):
            setattr(c.CourseDirectory, f"{kind}_directory", str(self.directory / kind))
        c.CourseDirectory.db_url = self.db_url
        if self.penalty_method:
            c.LateSubmissionPlugin.penalty_method = self.penalty_method
        return c

    def student_dir(self, kind: str, student: str, assignment: str) -> Path:
        return self.directory / kind / student / assignment

    def gradebook(self):
        from nbgrader.api import Gradebook

        if self.db_url.startswith("sqlite:///"):
            Path(self.db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return Gradebook(self.db_url, COURSE_ID)


def _structure(gb, assignment: str) -> list[tuple]:
    """The graded and read-only cells of ``assignment`` as the gradebook knows them."""
    from nbgrader.api import MissingEntry

    try:
        found = gb.find_assignment(assignment)
    except MissingEntry:
        return []
    cells = []
    for nb in found.notebooks:
        cells += [
            ("grade", nb.name, c.name, float(c.max_score), c.cell_type) for c in nb.grade_cells
        ]
        cells += [("source", nb.name, c.name, c.checksum) for c in nb.source_cells]
    return sorted(cells)


def register_assignment(course: Course, assignment: str, master_db: Path) -> None:
    """Make the course gradebook's ``assignment`` the one being graded (its cells and points),
    with ``nbgrader generate_assignment``'s own code, when it is missing or differs."""
    from nbgrader.api import Gradebook

    from optreg.grading.release import release_to

    with Gradebook("sqlite:///" + str(master_db)) as gb:
        wanted = _structure(gb, assignment)
    with course.gradebook() as gb:
        if _structure(gb, assignment) == wanted:
            return
    with tempfile.TemporaryDirectory(prefix="optreg-register-") as tmp:
        try:
            release_to(course.root, Path(tmp), (assignment,), db_url=course.db_url)
        except Exception as exc:  # nbgrader refuses to add/remove cells once graded
            raise RuntimeError(
                f"cannot update {assignment} in the gradebook {course.db_url}: {exc}"
            ) from None


def set_due_date(course: Course, assignment: str, due: str) -> None:
    """The assignment's due date (ISO 8601; UTC unless it says otherwise), as
    ``nbgrader db assignment add ASSIGNMENT --duedate=...`` would set it."""
    with course.gradebook() as gb:
        gb.update_or_create_assignment(assignment, duedate=due)


def _name_fields(name: str) -> dict:
    first, _, last = name.strip().rpartition(" ")
    return {"first_name": first or None, "last_name": last or None}


def record(course: Course, row: dict, *, name: str = "", timestamp: str | None = None) -> None:
    """Write one graded student (``row`` from :func:`optreg.grading.autograde.grade_student`)
    into the course gradebook (see the module docstring)."""
    from nbgrader.preprocessors import AssignLatePenalties

    student, assignment = row["student_id"], row["assignment"]
    recorded = row.get("gradebook") or {}
    with warnings.catch_warnings(), course.gradebook() as gb:
        # nbgrader's add_submission trips SQLAlchemy's autoflush warning (harmless, noisy)
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student, lms_user_id=student, **_name_fields(name))
        kwargs = {"timestamp": timestamp} if timestamp else {}
        submission = gb.update_or_create_submission(assignment, student, **kwargs)
        if not timestamp:
            submission.timestamp = None
        for notebook in submission.notebooks:
            saved = recorded.get(notebook.name, {"grades": {}, "comments": {}})
            for grade in notebook.grades:
                if row["status"] == "graded":
                    grade.auto_score, _ = saved["grades"].get(grade.name, [None, True])
                elif row["status"] == "error":  # the grader failed: a human must look
                    grade.auto_score = None
                else:  # missing or refused: nothing to grade, as nbgrader scores a missing file
                    grade.auto_score = 0.0
                # SaveAutoGrades' rule: review a cell that has a manual score or no automatic one
                grade.needs_manual_grade = (
                    grade.manual_score is not None or grade.auto_score is None
                )
            for comment in notebook.comments:
                comment.auto_comment = saved["comments"].get(comment.name)
        gb.db.commit()
        notebooks = [nb.name for nb in submission.notebooks]
    penalties = AssignLatePenalties(config=course.config())
    penalties.log.setLevel(logging.ERROR)
    for notebook in notebooks:  # nbgrader's own late-penalty step, on each notebook
        resources = {
            "nbgrader": {
                "notebook": notebook,
                "assignment": assignment,
                "student": student,
                "db_url": course.db_url,
            }
        }
        penalties.preprocess(nbformat.v4.new_notebook(), resources)


def totals(course: Course, assignment: str, student: str) -> dict:
    """The student's grade as ``nbgrader export`` computes it (automatic and manual scores,
    minus the late penalty), with its parts."""
    with course.gradebook() as gb:
        sub = gb.find_submission(assignment, student)
        grades = [g for nb in sub.notebooks for g in nb.grades]
        penalty = float(sub.late_submission_penalty or 0.0)
        return {
            "score": max(0.0, float(sub.score or 0.0) - penalty),
            "max_score": float(sub.max_score),
            "manual_score": sum(float(g.manual_score or 0.0) for g in grades),
            "late_penalty": penalty,
            "needs_manual_grade": bool(sub.needs_manual_grade),
            "timestamp": sub.timestamp.isoformat() if sub.timestamp else "",
            "seconds_late": float(sub.total_seconds_late or 0.0),
        }
