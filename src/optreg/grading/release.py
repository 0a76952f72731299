"""Regenerate the course notebooks: ``python -m optreg.grading.release [ASSIGNMENT...]``.

1. ``autograder/make_sources.py`` writes the nbgrader source notebooks ``solutions/<a>/<a>.ipynb``;
2. ``nbgrader generate_assignment`` (configured by ``autograder/nbgrader_config.py``) writes the
   student versions ``exercises/<a>/<a>.ipynb``: solutions replaced by a stub, hidden tests removed.

``release_to(dest)`` does step 2 into another folder, so a test can compare a fresh release with
the committed one.
"""

from __future__ import annotations

import argparse
import logging
import runpy
import shutil
import sys
import tempfile
from pathlib import Path

from optreg.grading import ASSIGNMENTS
from optreg.grading.course import (
    ensure_venv_on_path,
    fast_gradebook_creation,
    find_course_root,
    load_course_config,
)


def make_sources(root: Path, dest: Path | None = None) -> list[Path]:
    """Run ``autograder/make_sources.py``; returns the notebooks written."""
    namespace = runpy.run_path(str(root / "autograder" / "make_sources.py"))
    return namespace["build"](dest or root / "solutions")


def release_to(
    root: Path,
    dest: Path,
    assignments: tuple[str, ...] = ASSIGNMENTS,
    db_path: Path | None = None,
    db_url: str | None = None,
) -> list[Path]:
    """Generate the student versions of ``assignments`` into ``dest/<a>/`` with nbgrader.

    The gradebook that nbgrader fills on the way (the assignment's cells and points) is
    ``db_url``, or the SQLite file ``db_path`` (default: a temporary file, deleted)."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    ensure_venv_on_path()
    fast_gradebook_creation()
    with tempfile.TemporaryDirectory(prefix="optreg-release-") as tmp:
        config = load_course_config(root)
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.release_directory = str(Path(dest).resolve())
        config.CourseDirectory.db_url = db_url or "sqlite:///" + str(
            db_path or Path(tmp) / "gradebook.db"
        )
        written = []
        for assignment in assignments:
            coursedir = CourseDirectory(config=config)
            coursedir.assignment_id = assignment
            app = GenerateAssignment(coursedir=coursedir, config=config)
            app.force = True
            app.create_assignment = True
            app.log.setLevel(logging.ERROR)
            app.start()
            written.append(Path(dest) / assignment / f"{assignment}.ipynb")
        return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m optreg.grading.release", description=__doc__.splitlines()[0]
    )
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--course-root", type=Path, default=None)
    args = parser.parse_args(argv)
    root = args.course_root or find_course_root()
    for path in make_sources(root):
        print(f"source:  {path.relative_to(root)}")
    with tempfile.TemporaryDirectory(prefix="optreg-exercises-") as tmp:
        fresh = release_to(root, Path(tmp), tuple(args.assignments))
        for path in fresh:
            target = root / "exercises" / path.parent.name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(path.parent, target)
            print(f"release: {(target / path.name).relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
