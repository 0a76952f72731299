"""nbgrader configuration of the course.

nbgrader 0.9 reads ``nbgrader_config.py`` from the folder it runs in (its ``--config FILE``
option is ignored: "Unrecognized alias"), so stock nbgrader commands run from this folder::

    cd autograder
    nbgrader generate_assignment 01_optimizers --force   # solutions/ -> exercises/
    nbgrader autograde 01_optimizers                     # sandboxed, hidden tests included
    nbgrader generate_feedback 01_optimizers
    nbgrader export --to ../grades_all.csv               # the gradebook, as one CSV
    jupyter server                                       # the formgrader: /formgrader

``optreg grade`` and ``optreg.grading.release`` read this file too.

Layout: source notebooks in ``solutions/``, student versions in ``exercises/``; everything
nbgrader writes while grading (gradebook, submitted/autograded/feedback copies) lives in the
course directory: the git-ignored ``autograder/workspace/``, or ``$OPTREG_COURSE_DIR`` (for
``optreg grade --course-dir``, the tests, a shared folder on a hub).
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKSPACE = os.path.abspath(
    os.environ.get("OPTREG_COURSE_DIR") or os.path.join(ROOT, "autograder", "workspace")
)
os.makedirs(WORKSPACE, exist_ok=True)  # SQLite creates the gradebook, not its folder

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

# Stock `nbgrader autograde` grades as `optreg grade` does: the student's code in the sandbox,
# every test cell decided by the grader with its visible and hidden tests (never Execute).
c.Autograde.autograde_preprocessors = [
    "optreg.grading.stock.CourseGrader",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.CourseGrader.course_root = ROOT

# Late submissions: nbgrader's own mechanism. The due date is the gradebook's
# (`optreg grade ... --due 2026-03-01T23:59:00Z`, or `nbgrader db assignment add A --duedate=...`);
# the penalty is LateSubmissionPlugin's ("none" or "zero": a late submission scores 0), or a
# plugin class of your own: c.AssignLatePenalties.plugin_class = "mycourse.HalfPerDay".
c.LateSubmissionPlugin.penalty_method = "none"

# Feedback shows the students' own markdown and outputs: sanitized (no script, handler, iframe).
# nbgrader's feedback template ignores HTMLExporter.sanitize_html, so the cells are sanitized.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbconvert.preprocessors.sanitize.SanitizeHTML",
]
c.SanitizeHTML.enabled = True
