"""A practice class for trying the grading loop before the real one:
``python -m optreg.grading.demo ASSIGNMENT DEST``.

Writes, from the course's synthetic students (``autograder/cases.py``: the solution, the stub,
one classic mistake), the three ways submissions arrive:

* ``DEST/class/<student_id>/<assignment>.ipynb``: a folder per student (GitHub Classroom);
* ``DEST/moodle.zip``: Moodle's "Download all submissions"
  (``Full Name_<id>_assignsubmission_file_/``);
* ``DEST/canvas.zip``: Canvas's "Download submissions" (``lastnamefirstname_<id>_<file id>_...``,
  one late, one resubmitted with a ``-1`` suffix), dated around ``2026-03-02``.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import nbformat

from optreg.grading import ASSIGNMENTS
from optreg.grading.course import find_course_root

BEFORE, AFTER = (2026, 3, 1, 10, 0, 0), (2026, 3, 3, 9, 30, 0)


def write_class(root: Path, assignment: str, dest: Path) -> list[Path]:
    sys.path.insert(0, str(root / "autograder"))
    import cases

    label, edits, _ = cases.MUTANTS[assignment][0]
    full = nbformat.writes(cases.student_notebook(root, assignment))
    stub = nbformat.writes(cases.student_notebook(root, assignment, solved=False))
    wrong = nbformat.writes(cases.student_notebook(root, assignment, edits))
    nb = f"{assignment}.ipynb"
    for student, text in (("ann", full), ("ben", stub), (label, wrong)):
        (dest / "class" / student).mkdir(parents=True, exist_ok=True)
        (dest / "class" / student / nb).write_text(text)

    def add(zf: zipfile.ZipFile, name: str, text: str, when: tuple) -> None:
        zf.writestr(zipfile.ZipInfo(name, date_time=when), text)

    with zipfile.ZipFile(dest / "moodle.zip", "w") as zf:
        add(zf, f"Jane Doe_201_assignsubmission_file_/{nb}", full, BEFORE)
        add(zf, f"Jane Doe_202_assignsubmission_file_/{nb}", wrong, BEFORE)
        add(zf, f"Ana López_203_assignsubmission_file_{nb}", stub, AFTER)
    with zipfile.ZipFile(dest / "canvas.zip", "w") as zf:
        add(zf, f"doejane_101_9001_{nb}", full, BEFORE)
        add(zf, f"doejane_102_9002_{nb}", wrong, BEFORE)
        add(zf, f"smithbob_late_103_9003_{nb}", stub, AFTER)
        add(zf, f"smithbob_late_103_9010_{assignment}-1.ipynb", full, AFTER)
    return [dest / "class", dest / "moodle.zip", dest / "canvas.zip"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m optreg.grading.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("assignment", choices=ASSIGNMENTS)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--course-root", type=Path, default=None)
    args = parser.parse_args(argv)
    for path in write_class(args.course_root or find_course_root(), args.assignment, args.dest):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
