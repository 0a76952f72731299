"""The verdicts: every graded cell decided in the grader's own process.

For one submission, :func:`grade_notebook` starts the student's sandboxed process
(:class:`~optreg.grading.student.StudentProcess`) on the notebook's code cells (answers, the
course's read-only cells, the student's extra cells; not the test cells), then decides each
graded test cell by running, here:

1. the cell's visible tests (the course's code, as released: the student saw them), with the
   student's functions bound to proxies that call into the sandbox, and
2. the hidden tests of ``autograder/hidden/aNN_name.py`` marked ``@grades(<that cell>)``.

A cell passes when nothing in 1 and 2 failed. :class:`GradeOutsideSandbox` is the nbgrader
preprocessor that takes the place of nbgrader's ``Execute`` in ``Autograde``: it writes each
verdict as the output of its test cell (an error output carrying the grader's message, or a
short "passed" line), so nbgrader's own ``SaveAutoGrades`` scores the cells into the gradebook
and ``generate_feedback`` shows them. The student's process never sees a test's source, and
nothing it prints or returns is taken as a verdict.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Bool, Float, List, Unicode

from optreg.grading.checks import Failed, hidden_mode
from optreg.grading.diagnose import CallLog, Catalogue, load_catalogue
from optreg.grading.student import Function, Student, StudentFailure, StudentProcess

VISIBLE = "<visible tests>"
TOTAL_OUTPUT = 100_000  # characters of the student's cell outputs kept in the whole notebook


def hidden_tests_path(root: Path, assignment: str) -> Path:
    """``autograder/hidden/aNN_name.py`` of assignment ``NN_name``."""
    return Path(root) / "autograder" / "hidden" / f"a{assignment}.py"


def load_hidden(path: Path) -> dict[str, list]:
    """{grade id: its hidden tests, in file order} from a hidden-test file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no hidden tests: {path}")
    name = f"optreg_hidden_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    tests: dict[str, list] = {}
    for value in vars(module).values():
        if callable(value) and isinstance(getattr(value, "grade_id", None), str):
            tests.setdefault(value.grade_id, []).append(value)
    return tests


def hidden_points(path: Path) -> dict[str, float]:
    """{grade id: points} declared by the ``@grades`` decorators of a hidden-test file."""
    points = {}
    for grade_id, tests in load_hidden(path).items():
        values = {t.points for t in tests}
        if len(values) != 1:
            raise ValueError(f"{path.name}: tests of {grade_id} declare different points {values}")
        points[grade_id] = values.pop()
    return points


@dataclass
class Verdict:
    grade_id: str
    passed: bool
    messages: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "\n".join(self.messages)


def _meta(cell) -> dict:
    meta = cell.metadata.get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _visible_namespace(nb: NotebookNode, source: str, student: Student) -> dict:
    """Globals for running a visible test cell here: the imports of the course's read-only
    cells, and every other free name of the test bound to the student's function of that name."""
    namespace: dict = {"__name__": "__visible__", "__builtins__": builtins}
    for cell in nb.cells:
        if cell.cell_type == "code" and _meta(cell).get("locked") and not is_grade(cell):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
            exec(compile(ast.Module(imports, []), "<course imports>", "exec"), namespace)  # noqa: S102
    tree = ast.parse(source)
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    for name in loaded - set(namespace) - set(dir(builtins)):
        namespace[name] = Function(student._process, name, student)
    return namespace


def _failure_text(exc: BaseException, source: str | None = None) -> str:
    if isinstance(exc, AssertionError) and str(exc):
        return str(exc)
    if isinstance(exc, AssertionError) and source is not None:
        lines = source.splitlines()
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename == VISIBLE and 0 < lineno <= len(lines):
                return f"this visible check failed: {lines[lineno - 1].strip()}"
        return "a visible check failed"
    if isinstance(exc, AssertionError):
        return "a check failed"
    return (
        f"the checks could not use what the code returned: {type(exc).__name__}: {str(exc)[:300]}"
    )


def _hidden_failure_text(test, exc: BaseException) -> str:
    """What the student reads when a hidden test fails: which test, and what kind of failure,
    never the hidden inputs, the reference values, or text the student's process wrote."""
    name = getattr(test, "__name__", "a hidden test")
    if isinstance(exc, StudentFailure):
        return f"hidden test {name}: {exc.public} on a hidden case"
    if isinstance(exc, Failed) and str(exc):
        return f"hidden test {name}: {exc}"
    if isinstance(exc, AssertionError):
        return f"hidden test {name}: a check failed on a hidden case"
    return (
        f"hidden test {name}: the checks could not use what the code returned on a hidden "
        f"case ({type(exc).__name__})"
    )


def decide_visible(grade_id: str, visible: str, nb: NotebookNode, student: Student) -> Verdict:
    """The verdict of a test cell's visible tests alone (see the module docstring)."""
    verdict = Verdict(grade_id, True)
    code = visible.strip()
    if code:
        try:
            exec(compile(code, VISIBLE, "exec"), _visible_namespace(nb, code, student))  # noqa: S102
        except Exception as exc:  # a failed visible check, or the student's error
            verdict.passed = False
            verdict.messages.append(_failure_text(exc, code))
    return verdict


def decide_hidden(verdict: Verdict, hidden: list, student: Student) -> Verdict:
    """Add the cell's hidden tests to ``verdict`` (generic messages: see
    :func:`_hidden_failure_text`)."""
    for test in hidden:
        try:
            with hidden_mode():
                test(student)
        except Exception as exc:  # a failed check, or what the student's code did
            verdict.passed = False
            verdict.messages.append(_hidden_failure_text(test, exc))
    return verdict


def decide(
    grade_id: str, visible: str, hidden: list, nb: NotebookNode, student: Student
) -> Verdict:
    """The verdict of one test cell (see the module docstring)."""
    return decide_hidden(decide_visible(grade_id, visible, nb, student), hidden, student)


@dataclass
class Grading:
    verdicts: dict[str, Verdict]
    cell_results: dict[int, tuple[str, str | None]]  # notebook cell index -> (output, error)
    notes: list[str]
    mistakes: dict = field(default_factory=dict)  # failed cell -> named mistakes (diagnose.py)


def grade_notebook(
    nb: NotebookNode,
    hidden: dict[str, list],
    prefix: list[str] | None = None,
    *,
    cell_timeout: float = 30,
    call_timeout: float = 10,
    budget: float = 300,
    catalogue: Catalogue | None = None,
) -> Grading:
    """Run the student's cells in the sandbox and decide every graded cell of ``nb``; with a
    ``catalogue``, then name the known mistakes of the failed cells (their verdicts unchanged)."""
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not is_grade(c)]
    process = StudentProcess(
        [nb.cells[i].source for i in code_cells],
        prefix,
        cell_timeout=cell_timeout,
        call_timeout=call_timeout,
        budget=budget,
        labels=[i + 1 for i in code_cells],
    )
    calls = CallLog(process)  # which functions each cell calls, for the diagnosis
    student = Student(calls)
    verdicts: dict[str, Verdict] = {}
    mistakes: dict = {}
    try:
        try:
            process.start()
        except StudentFailure as exc:
            process.notes.append(str(exc))
        # Every visible test first, then every hidden one: a hidden input never reaches the
        # student's process before a visible test (whose errors are shown in full) has run.
        graded = [
            (c, _meta(c)["grade_id"]) for c in nb.cells if c.cell_type == "code" and is_grade(c)
        ]
        for _cell, grade_id in graded:
            if grade_id not in hidden:
                raise KeyError(f"no hidden test marked @grades({grade_id!r})")
        spent = Verdict("", False, ["not checked: the time budget for this submission was spent"])
        for phase in ("visible", "hidden"):
            for cell, grade_id in graded:
                calls.cell = grade_id
                if time.monotonic() >= process.deadline:
                    verdicts[grade_id] = Verdict(grade_id, False, list(spent.messages))
                elif phase == "visible":
                    verdicts[grade_id] = decide_visible(grade_id, cell.source, nb, student)
                elif verdicts[grade_id].messages != spent.messages:
                    decide_hidden(verdicts[grade_id], hidden[grade_id], student)
        if catalogue is not None:  # explains failures only: every verdict is already final
            try:
                mistakes = catalogue.explain(verdicts, calls, student, process)
            except Exception as exc:  # a broken catalogue costs the explanation, not a grade
                process.notes.append(f"no diagnosis: {type(exc).__name__}: {exc}"[:300])
    finally:
        process.close()
    results = {code_cells[i]: r for i, r in process.results.items()}
    return Grading(verdicts, results, process.notes, mistakes)


def _stream(text: str) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout", text=text)


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class GradeOutsideSandbox(NbGraderPreprocessor):
    """nbgrader preprocessor writing the grader's verdicts as test-cell outputs (see above)."""

    hidden_tests = Unicode("", help="path of the assignment's hidden-test file").tag(config=True)
    sandbox_prefix = List([], help="command prefix of the sandbox (empty: none)").tag(config=True)
    cell_timeout = Float(30, help="seconds per code cell").tag(config=True)
    call_timeout = Float(10, help="seconds per call of a student's function").tag(config=True)
    budget = Float(300, help="seconds for the whole submission").tag(config=True)
    report = Unicode("", help="where to write the notes (JSON)").tag(config=True)
    diagnose = Bool(True, help="name known mistakes of failed cells (diagnose.py)").tag(config=True)

    def preprocess(self, nb, resources):
        try:
            catalogue = load_catalogue(Path(self.hidden_tests)) if self.diagnose else None
        except Exception as exc:  # a broken catalogue costs the explanations, not the grading
            self.log.error("no diagnosis: %s: %s", type(exc).__name__, exc)
            catalogue = None
        grading = grade_notebook(
            nb,
            load_hidden(Path(self.hidden_tests)),
            self.sandbox_prefix,
            cell_timeout=self.cell_timeout,
            call_timeout=self.call_timeout,
            budget=self.budget,
            catalogue=catalogue,
        )
        room = TOTAL_OUTPUT  # feedback stays small whatever the cells print
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.execution_count = None
            if is_grade(cell):
                grade_id = _meta(cell)["grade_id"]
                verdict = grading.verdicts[grade_id]
                points = _meta(cell).get("points")  # the feedback names the test and its worth
                worth = (
                    f" ({points:g} point{'' if points == 1 else 's'})"
                    if isinstance(points, int | float)
                    else ""
                )
                cell.outputs = (
                    [_stream(f"{grade_id}{worth}: passed, every check of this cell\n")]
                    if verdict.passed
                    else [
                        _error(
                            "AssertionError", f"{grade_id}{worth} failed:\n{verdict.message}"[:2000]
                        )
                    ]
                )
                if grading.mistakes.get(verdict.grade_id):  # after the error: scores unchanged
                    cell.outputs.append(catalogue.output(grading.mistakes[verdict.grade_id]))
                continue
            output, error = grading.cell_results.get(index, ("", None))
            if len(output) + len(error or "") > room:
                output = output[: max(room, 0)] + (
                    f"\n[output not kept: the notebook's outputs exceed {TOTAL_OUTPUT} "
                    "characters]\n"
                    if room > -1
                    else ""
                )
                error, room = None, -1
            else:
                room -= len(output) + len(error or "")
            cell.outputs = [_stream(output)] if output else []
            if error:
                cell.outputs.append(_error(*(error.split(": ", 1) + [""])[:2]))
        if self.report:
            Path(self.report).write_text(
                json.dumps(
                    {
                        "notes": grading.notes,
                        "verdicts": {g: [v.passed, v.message] for g, v in grading.verdicts.items()},
                        "mistakes": {
                            g: [n.summary() for n in found] for g, found in grading.mistakes.items()
                        },
                    }
                )
            )
        return nb, resources
