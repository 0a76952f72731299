"""nbgrader configuration of the course (used by ``nbgrader`` run from the repository root with
``--config autograder/nbgrader_config.py``, and by ``optreg grade`` / ``optreg.grading.release``).

Layout: source notebooks in ``solutions/``, student versions in ``exercises/``; everything
nbgrader writes while grading (gradebook, submitted/autograded/feedback copies) lives under the
git-ignored ``autograder/workspace/``.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKSPACE = os.path.join(ROOT, "autograder", "workspace")

c.CourseDirectory.course_id = "optreg"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = os.path.join(WORKSPACE, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(WORKSPACE, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(WORKSPACE, "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(WORKSPACE, "gradebook.db")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Execute.timeout = 30
c.Execute.allow_errors = True
