"""Where the course lives, and the nbgrader configuration used to release and grade it."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets.config import Config

CONFIG_FILE = Path("autograder") / "nbgrader_config.py"
COURSE_ID = "optreg"


def find_course_root(start: Path | None = None) -> Path:
    """The repository root: the first folder above ``start`` (default: the current directory,
    then this package's checkout) holding ``autograder/nbgrader_config.py``."""
    candidates = [Path(start or Path.cwd()).resolve(), Path(__file__).resolve()]
    for base in candidates:
        for folder in (base, *base.parents):
            if (folder / CONFIG_FILE).is_file() and (folder / "solutions").is_dir():
                return folder
    raise FileNotFoundError(
        "cannot find the course (a folder with autograder/nbgrader_config.py and solutions/); "
        "run from the repository or pass --course-root"
    )


def load_course_config(root: Path) -> Config:
    """The course's ``autograder/nbgrader_config.py`` as a traitlets Config."""
    from traitlets.config.loader import PyFileConfigLoader

    loader = PyFileConfigLoader(CONFIG_FILE.name, path=str(root / CONFIG_FILE.parent))
    return loader.load_config()


def workspace_config(
    root: Path, *, db_path: Path, source: str = "source", release: str = "release"
) -> Config:
    """A self-contained nbgrader course directory at ``root`` (used for per-student grading)."""
    c = Config()
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = source
    c.CourseDirectory.release_directory = release
    c.CourseDirectory.submitted_directory = "submitted"
    c.CourseDirectory.autograded_directory = "autograded"
    c.CourseDirectory.feedback_directory = "feedback"
    c.CourseDirectory.db_url = "sqlite:///" + os.fspath(db_path)
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    return c


def source_notebook(root: Path, assignment: str) -> Path:
    path = root / "solutions" / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"no source notebook for assignment {assignment!r}: {path}")
    return path


def ensure_venv_on_path() -> None:
    """nbgrader creates gradebooks by running the ``alembic`` command: make this interpreter's
    scripts folder visible even when Python was started by its full path."""
    import sys

    scripts = os.path.dirname(sys.executable)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def fast_gradebook_creation() -> None:
    """Create new gradebooks without nbgrader's ``alembic heads`` subprocess.

    nbgrader stamps every new gradebook with the alembic head revision, which it learns by
    running the ``alembic`` command (seconds of imports, each time). The same revision is read
    here in-process from nbgrader's own migration scripts; the database is identical."""
    import nbgrader
    import nbgrader.api

    if getattr(nbgrader.api.get_alembic_version, "in_process", False):
        return
    from alembic.script import ScriptDirectory

    scripts = os.path.join(os.path.dirname(nbgrader.__file__), "alembic")

    def get_alembic_version() -> str:
        return ScriptDirectory(scripts).get_current_head()

    get_alembic_version.in_process = True
    nbgrader.api.get_alembic_version = get_alembic_version
